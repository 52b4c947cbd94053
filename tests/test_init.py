"""The package beside pandas: pandas must not take it for the Bottleneck numerical library."""

import subprocess
import sys

import pytest

CHECK = """
import warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    {imports}
    import pandas as pd
    import pandas.core.nanops as nanops
    import bottleneck
about_bottleneck = [str(w.message) for w in caught if "bottleneck" in str(w.message).lower()]
assert not about_bottleneck, about_bottleneck
assert not nanops._BOTTLENECK_INSTALLED, "pandas took the pipeline for Bottleneck"
frame = pd.DataFrame({{"a": [1.0, None, 3.0]}})
assert frame["a"].sum() == 4.0 and frame["a"].mean() == 2.0 and frame["a"].std() > 0
assert bottleneck.RunMonth.__name__ == "RunMonth"
print("ok")
"""


@pytest.mark.parametrize(
    "imports",
    ["import bottleneck", "import pandas", "import luigi"],
    ids=["bottleneck-first", "pandas-first", "luigi-first"],
)
def test_pandas_works_beside_the_package_whatever_is_imported_first(imports):
    result = subprocess.run([sys.executable, "-c", CHECK.format(imports=imports)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_the_package_has_a_version():
    import bottleneck

    assert bottleneck.__version__
