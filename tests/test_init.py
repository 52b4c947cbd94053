"""The package beside pandas: pandas must not take it for the Bottleneck numerical library."""

import os
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


IMPORT_CHANGES = """
import gc, logging, sys
import luigi.configuration
handlers = list(logging.getLogger().handlers)
import bottleneck
from bottleneck import alerts, running
config = luigi.configuration.get_config()
assert gc.isenabled(), "the garbage collector is off after the import"
assert gc.get_freeze_count() == 0, f"{gc.get_freeze_count()} objects frozen by the import"
assert logging.getLogger().handlers == handlers, "the import changed the root logger"
assert alerts._alerted is None and running._marked is None, "the import set up a run"
set_by_user = {("retcode", "task_failed"): "9", ("core", "no_lock"): "false", ("email", "format"): "html",
               ("RangeMonthly", "months_back"): "5", ("bottleneck", "premium_zscore"): "2.5"}
for (section, option), value in set_by_user.items():
    assert config.get(section, option) == value, (section, option, config.get(section, option))
assert config.get("retcode", "missing_data") == "3", "a default where luigi.cfg says nothing"
assert config.get("retcode", "already_running") == "0"
assert "RangeMonthly" in luigi.task_register.Register.task_names()
print("ok")
"""


def test_importing_the_package_changes_nothing_but_luigi_s_registry_and_the_options_luigi_cfg_leaves_unset(
    tmp_path,
):
    cfg = tmp_path / "luigi.cfg"
    cfg.write_text(
        "[retcode]\ntask_failed = 9\n[core]\nno_lock = false\n[email]\nformat = html\n"
        "[RangeMonthly]\nmonths_back = 5\n[bottleneck]\npremium_zscore = 2.5\n"
    )
    environment = {**os.environ, "LUIGI_CONFIG_PATH": str(cfg)}
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_CHANGES], capture_output=True, text=True, env=environment, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_a_run_sets_itself_up_as_it_starts(tmp_path):
    check = (
        "import gc, logging\nfrom bottleneck import alerts, events, running\n"
        "events.start_run()\n"
        "assert gc.get_freeze_count() > 0 and alerts._alerted is not None and running._marked is not None\n"
        "assert any(isinstance(h, alerts.RecentLines) for h in logging.getLogger().handlers)\nprint('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
