"""What a reader sees: the email's HTML in headless Chromium, report.xlsx printed to PDF by LibreOffice.

The real month after a changed copy of it runs through the real task tree; the email page is
screenshot and printed, the workbook converted, and the assertions read the text of the PDFs (as
pdftotext extracts it). The screenshot and the PDFs are kept under test-artifacts/ to be looked at.
"""

import email
import email.policy
import shutil
import subprocess

import pytest

from tests.conftest import REPO
from tests.months import changed_copy, copy_month, run_month
from tests.scheduler.test_visualiser import chromium, headless
from tests.test_month_over_month import PRICES, PUSHED, REMOVED

ARTIFACTS = REPO / "test-artifacts"


def tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        pytest.skip(f"no {name}: apt-get install -y libreoffice-calc-nogui poppler-utils (.ci/run does)")
    return found


def pdf_text(pdf) -> str:
    """The PDF's text as a reader reads it, whitespace runs made one space."""
    result = subprocess.run([tool("pdftotext"), "-layout", str(pdf), "-"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return " ".join(result.stdout.split())


@pytest.fixture(scope="module")
def reports(seed_month, tmp_path_factory):
    root = tmp_path_factory.mktemp("rendering")
    lake = root / "lake"
    copy_month(seed_month, lake, "2020-08")
    changed_copy(seed_month, lake, "2020-07", REMOVED, {**PRICES, **PUSHED})
    result = run_month(lake, root, "2020-08")
    assert result.returncode == 0, result.stderr
    ARTIFACTS.mkdir(exist_ok=True)
    return lake / "reports" / "2020" / "08"


def test_the_email_in_a_browser_leads_with_the_figures_and_their_changes(reports, tmp_path):
    browser = chromium()
    message = email.message_from_bytes((reports / "email.eml").read_bytes(), policy=email.policy.default)
    page = tmp_path / "email.html"
    page.write_text(message.get_body(("html",)).get_content(), encoding="utf-8")
    screenshot, printed = ARTIFACTS / "email-2020-08.png", ARTIFACTS / "email-2020-08.pdf"
    for output in (f"--screenshot={screenshot}", f"--print-to-pdf={printed}"):
        shown = headless(browser, page.as_uri(), "--window-size=1100,3600", "--no-pdf-header-footer", output)
        assert shown.returncode == 0, shown.stderr[-2000:]
    assert screenshot.stat().st_size > 10_000
    text = pdf_text(printed)
    headline = text.index("Products 714 711 +3 +0.4 %")
    assert (
        text.index("Compared with 2020-07.")
        < headline
        < text.index("Top 10 wines by revenue")
        < text.index("New premium wines")
        < text.index("Warnings")
        < text.index("Changes since 2020-07")
        < text.index("A year at a glance")
        < text.index("Quality gate")
    )
    assert "Turnover 70,568.60 € 70,134.70 € +433.90 € +0.6 %" in text
    assert "1 Champagne Gosset Grand Blanc de Blancs 4334 ordinary 4,704.00 €" in text
    assert "(4132): became premium, ordinary → premium" in text
    assert "2 products have negative stock: 4973, 5700" in text
    assert "3 new wines, 4 price changes, 1 now premium, 3 biggest revenue moves." in text
    assert "28 checks passed, 1 warning." in text
    assert "2019-09 — — — no raw exports in the lake" in text
    assert "{" not in text
    assert "}" not in text


def test_the_workbook_printed_by_libreoffice_holds_the_figures_changes_and_gate(reports, tmp_path):
    office = tool("soffice")
    profile = (tmp_path / "profile").as_uri()  # its own profile: runs in parallel never share a lock
    converted = subprocess.run(
        [
            office,
            f"-env:UserInstallation={profile}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(reports / "report.xlsx"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert converted.returncode == 0, converted.stderr
    printed = ARTIFACTS / "report-2020-08.pdf"
    shutil.copy(tmp_path / "report.pdf", printed)
    text = pdf_text(printed)
    assert "BottleNeck monthly report — 2020-08" in text
    assert "Products 714 711 +3 +0.4 %" in text
    assert "Premium wines 30 29 +1 +3.4 %" in text
    assert "Turnover 70,568.60 € 70,134.70 € +433.90 € +0.6 %" in text
    assert "Compared with 2020-07." in text
    assert "Changes: 3 new wines, 4 price changes, 1 now premium, 3 biggest revenue moves" in text
    assert "28 checks passed, 1 warning" in text
    assert "2 products have negative stock: 4973, 5700" in text
    assert "erp.xlsx rows in the export 825" in text
    for product_id in (*REMOVED, *PRICES, *PUSHED):
        assert f" {product_id} " in text
    assert (
        "premium 4132 11668 Zind-Humbrecht Pinot Gris Grand Cru Rangen De Thann Clos Saint-Urbain 2012 ordinary premium"
        in text
    )
    assert "price 4042 16042 Pierre Gaillard Cornas 2017 29.90 € 31.20 €" in text
    assert "&amp;" not in text
    assert "{" not in text
    assert "}" not in text
