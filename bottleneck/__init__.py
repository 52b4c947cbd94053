"""bottleneck: a wine merchant's monthly reporting pipeline as a tree of Luigi tasks.

`luigi --module bottleneck RunMonth --month YYYY-MM` imports this package, which registers the tasks.

The import name is shared with Bottleneck, the numerical library that pandas probes for when it is
imported. Were that probe to find this package it would fail (no `__version__` yet), warn (an old
version) or, worse, call into it (a recent one). So the probe is refused with an ImportError, which
pandas reads as "Bottleneck is not installed", and pandas keeps its own numpy code paths. This guard, which
looks at the importer's frames for pandas' probing module and takes this package out of sys.modules while
pandas imports, is forced by the package's name; it is the only such reach outside bottleneck/list_sheets.py.

Importing the package changes nothing but Luigi's registry: it registers its tasks, parameters and event
handlers, and sets the Luigi options it needs where luigi.cfg says nothing (bottleneck.config.luigi_defaults).
What a run needs beyond that (log lines kept for alerts, state shared with forked workers, the garbage
collector's freeze) is set up when a run starts (bottleneck.events).
"""

import sys
from types import FrameType

__version__ = "1.0.0"


def _probed_by_pandas() -> bool:
    frame: FrameType | None = sys._getframe(1)  # noqa: SLF001 - the importer's frames: who imports this package
    while frame is not None:
        if frame.f_globals.get("__name__") == "pandas.compat._optional":
            return True
        frame = frame.f_back
    return False


if _probed_by_pandas():
    raise ImportError("this 'bottleneck' is the wine report pipeline, not the Bottleneck numerical library")

if "pandas" not in sys.modules:
    # pandas' probe would find this half-imported module in sys.modules and read its version:
    # let it import pandas while this package is out of sys.modules, so it meets the refusal above.
    _this_package = sys.modules.pop(__name__)
    try:
        import pandas  # noqa: F401 - imported for its probe, while this package is out of sys.modules
    finally:
        sys.modules[__name__] = _this_package

from bottleneck import config as _config  # noqa: E402 - after the pandas probe guard above
from bottleneck import events as _events  # noqa: E402,F401 - registers the package's Luigi event handlers

_config.apply_luigi_defaults()  # only where luigi.cfg says nothing: bottleneck.config.luigi_defaults()

from bottleneck.tasks import (  # noqa: E402 - after the pandas probe guard above
    CheckedDeliverables,
    ClassifiedWines,
    MonthEmail,
    MonthFigures,
    MonthReport,
    QualityReport,
    RawExport,
    RawManifest,
    ReconciledProducts,
    RunMonth,
    StagedExport,
)

__all__ = [
    "CheckedDeliverables",
    "ClassifiedWines",
    "MonthEmail",
    "MonthFigures",
    "MonthReport",
    "QualityReport",
    "RawExport",
    "RawManifest",
    "ReconciledProducts",
    "RunMonth",
    "StagedExport",
]
