"""The benchmark's scale-up month: N copies keep every quirk, never share an id, and give N x the figures."""

import json
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest

# benchmarks/ sits beside the package, not in it: make it importable however pytest was started.
REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import baseline, scale_month  # noqa: E402 - importable once the repository is on sys.path

N = 2


@pytest.fixture(scope="module")
def month_x2(seed_month, tmp_path_factory):
    folder, expected = scale_month.scaled_month(N, seed_month, tmp_path_factory.mktemp("scaled"))
    return folder, expected


@pytest.fixture(scope="module")
def frames_x2(month_x2):
    # openpyxl, not the calamine reader the generator uses, so a quirk of one reader cannot hide.
    folder, _ = month_x2
    return {name: pd.read_excel(folder / f"{name}.xlsx", engine="openpyxl") for name in ("erp", "web", "liaison")}


def as_text(value) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def test_expected_figures_of_the_seed_month(seed_month):
    base = scale_month.base_figures(seed_month)
    base["input_rows"] = {"erp": 825, "web": 1513, "liaison": 825}
    one = scale_month.expected_figures(1, base)
    assert (one["products"], one["turnover"], one["premium"], one["ordinary"]) == (714, 70568.60, 30, 684)


@pytest.mark.parametrize("n", [1, 2, 10, 100, 400, 10_000])
def test_premium_scales_exactly_with_n(seed_month, n):
    base = scale_month.base_figures(seed_month)
    base["input_rows"] = {"erp": 825, "web": 1513, "liaison": 825}
    figures = scale_month.expected_figures(n, base)
    assert (figures["premium"], figures["ordinary"]) == (30 * n, 684 * n)
    # Why it holds: no one-copy z-score lies where the growing factor could push it over 2.
    low, high = figures["closest_zscores_to_threshold"]["flip_band"]
    assert not any(low < z <= high for z in base["zscores"])


def test_scaled_month_keeps_every_quirk_n_times(month_x2, frames_x2):
    _, expected = month_x2
    erp, web, liaison = frames_x2["erp"], frames_x2["web"], frames_x2["liaison"]
    assert (len(erp), len(web), len(liaison)) == (825 * N, 1513 * N, 825 * N)
    assert expected["input_rows"] == {"erp": 825 * N, "web": 1513 * N, "liaison": 825 * N}
    assert (erp["price"] <= 0).sum() == 2 * N
    assert (web["post_type"] == "attachment").sum() == 714 * N
    assert web.isna().drop(columns=["virtual", "downloadable", "rating_count"]).all(axis=1).sum() == 83 * N
    assert ((web["post_type"] == "product") & web["sku"].isna()).sum() == 2 * N
    assert liaison["id_web"].isna().sum() == 91 * N
    skus = web["sku"].dropna().map(as_text)
    assert {"bon-cadeau-25-euros", "bon-cadeau-25-euros-x1", "13127-1", "13127-1-x1"} <= set(skus)


def test_copies_never_share_an_id(frames_x2):
    erp, web, liaison = frames_x2["erp"], frames_x2["web"], frames_x2["liaison"]
    assert erp["product_id"].is_unique
    assert liaison["product_id"].is_unique
    products = web[web["post_type"] == "product"]["sku"].dropna().map(as_text)
    assert products.is_unique
    assert liaison["id_web"].dropna().map(as_text).is_unique


def test_scaled_month_gives_n_times_the_figures_by_pandas(month_x2, frames_x2):
    _, expected = month_x2
    erp, web, liaison = frames_x2["erp"], frames_x2["web"], frames_x2["liaison"]
    erp = erp[erp["price"] > 0]
    web = web[(web["post_type"] == "product") & web["sku"].notna()].drop_duplicates()
    liaison = liaison[liaison["id_web"].notna()]
    joined = erp.merge(liaison.assign(id_web=liaison["id_web"].map(as_text)), on="product_id").merge(
        web.assign(sku=web["sku"].map(as_text)), left_on="id_web", right_on="sku"
    )
    price = joined["price"]
    premium = int((((price - price.mean()) / price.std(ddof=1)) > 2).sum())
    assert len(joined) == expected["products"] == 714 * N
    assert (price * joined["total_sales"]).sum() == pytest.approx(expected["turnover"], abs=0.005)
    assert expected["turnover"] == pytest.approx(70568.60 * N, abs=0.005)
    assert premium == expected["premium"] == 30 * N
    assert len(joined) - premium == expected["ordinary"]


@pytest.mark.parametrize(
    ("writer", "sheets"), [("openpyxl", ["summary", "products", "premium"]), ("xlsxwriter", ["products"])]
)
def test_scaled_month_gives_n_times_the_figures_by_either_baseline(month_x2, tmp_path, capsys, writer, sheets):
    folder, expected = month_x2
    assert baseline.main(["--writer", writer, str(folder), str(tmp_path)]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures == {key: expected[key] for key in ("products", "turnover", "premium", "ordinary")}
    assert len(pd.read_csv(tmp_path / "premium_wines.csv")) == 30 * N
    with zipfile.ZipFile(tmp_path / "report.xlsx") as book:
        application = book.read("docProps/app.xml").decode()
    assert ("Openpyxl" in application) == (writer == "openpyxl"), "pandas' default engine is xlsxwriter"
    assert list(pd.read_excel(tmp_path / "report.xlsx", sheet_name=None, engine="calamine")) == sheets


def test_generated_month_is_cached_by_scale(month_x2, seed_month):
    folder, expected = month_x2
    before = (folder / "web.xlsx").stat().st_mtime_ns
    again, expected_again = scale_month.scaled_month(N, seed_month, folder.parent)
    assert again == folder
    assert expected_again == expected
    assert (folder / "web.xlsx").stat().st_mtime_ns == before


def test_shifted_id_moves_numbers_and_suffixes_text():
    assert scale_month.shifted_id(15298.0, 0, 1_000_000) == 15298.0
    assert scale_month.shifted_id(15298.0, 3, 1_000_000) == 3_015_298.0
    assert scale_month.shifted_id("15298", 3, 1_000_000) == "3015298"
    assert scale_month.shifted_id("13127-1", 3, 1_000_000) == "13127-1-x3"
    assert scale_month.shifted_id("", 3, 1_000_000) == ""
