"""A month's figures and classified wines made from its raw exports alone, or the reason there are none.

Another month compares itself with these, so they never depend on whether or when this month ran:
the same exports give the same figures, through the same staging, reconciliation, classification
and gate as the month's own tasks.
"""

import pandas as pd

from bottleneck.classify import classified_wines
from bottleneck.compare import month_figures
from bottleneck.errors import MissingSourceError, QualityGateError
from bottleneck.quality import failures, gate
from bottleneck.reconcile import reconciled
from bottleneck.reference import reference
from bottleneck.staging import staged_table


def no_exports(label: str) -> str:
    """Why a month without a single raw export has no figures."""
    return f"{label}: no raw exports in the lake"


def figures_from_raw(label: str, raw: dict[str, bytes | None], settings) -> tuple[dict, pd.DataFrame]:
    """The month's headline figures and classified wines; a PipelineError says why there are none."""
    if all(data is None for data in raw.values()):
        raise MissingSourceError(no_exports(label))
    unusable = [f"{'missing' if data is None else 'empty'} {source}.xlsx" for source, data in raw.items() if not data]
    if unusable:
        raise MissingSourceError(f"{label}: raw exports not ready: {'; '.join(unusable)}")
    staged = {
        source: staged_table(source, data, f"{label} {source}.xlsx", settings.max_file_mb, settings.max_unpacked_mb)
        for source, data in raw.items()
    }
    result = reconciled(staged)
    wines = classified_wines(result.products, settings.premium_zscore)
    failed = failures(
        gate(staged, wines, result.rejected_rows, result.turnover, reference(staged), settings.premium_zscore)
    )
    if failed:
        raise QualityGateError(f"{label}: quality gate failed: " + "; ".join(check.name for check in failed))
    return month_figures(label, wines), wines
