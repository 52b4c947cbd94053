"""`bottleneck-demo`: a synthetic month with every quirk of the real exports, run end to end.

The real exports cannot ship with the project, so this writes a month of the same shape (image
attachments beside products, empty and duplicated rows, products without a sku, non-numeric skus,
negative prices and stock, liaison rows without a web id) into the local lake, and runs it.
"""

import argparse
import datetime as dt
import io
import os
import random

import luigi.configuration
import xlsxwriter

from bottleneck import lake, layout

WEB_COLUMNS = [
    "sku",
    "virtual",
    "downloadable",
    "rating_count",
    "average_rating",
    "total_sales",
    "tax_status",
    "tax_class",
    "post_author",
    "post_date",
    "post_date_gmt",
    "post_content",
    "post_title",
    "post_excerpt",
    "post_status",
    "comment_status",
    "ping_status",
    "post_password",
    "post_name",
    "post_modified",
    "post_modified_gmt",
    "post_content_filtered",
    "post_parent",
    "guid",
    "menu_order",
    "post_type",
    "post_mime_type",
    "comment_count",
]
ERP_COLUMNS = ["product_id", "onsale_web", "price", "stock_quantity", "stock_status"]
LIAISON_COLUMNS = ["product_id", "id_web"]
Cell = str | float | dt.datetime | None  # a cell of an export, None where it is empty
ESTATES = [
    "Château du Couvent",
    "Domaine des Tourelles",
    "Clos de la Roche",
    "Maison Pichon",
    "Domaine Huet",
    "Château Lagrange",
    "Domaine Zind",
    "Mas Amiel",
    "Domaine Weinbach",
    "Château Simone",
    "Parés Baltà",
    "Domaine de l'Écu",
    "Château Yon-Figeac",
    "Domaine Ogier",
    "Josmeyer",
]
WINES = [
    "Pomerol",
    "Saint-Émilion Grand Cru",
    "Riesling Grand Cru",
    "Côte-Rôtie",
    "Sancerre",
    "Chablis 1er Cru",
    "Vouvray Sec",
    "Maury Grenat",
    "Gewurztraminer",
    "Palette Rosé",
    "Penedès Indigena",
    "Muscadet",
    "Crozes-Hermitage",
    "Pinot Gris",
    "Condrieu",
]


def synthetic_month(month: dt.date, products: int = 800, seed: int | None = None) -> dict[str, bytes]:
    """The three raw exports of a made-up month, as xlsx bytes, reproducible for a given seed."""
    rng = random.Random(seed if seed is not None else month.toordinal())
    erp: list[list[Cell]] = []
    liaison: list[list[Cell]] = []
    web: list[list[Cell]] = []
    for index in range(products):
        product_id = 3800 + index
        price = round(rng.lognormvariate(3.1, 0.55), 1)
        stock = rng.choice([0, 0, 3, 7, 12, 24, 48, 150])
        erp.append([product_id, int(rng.random() < 0.87), price, stock, "instock" if stock > 0 else "outofstock"])
        if rng.random() < 0.11:
            liaison.append([product_id, None])  # not sold on the web
            continue
        sku = {0: "bon-cadeau-25-euros", 1: f"{13000 + index}-1"}.get(index, str(10000 + index * 3))
        liaison.append([product_id, sku])
        title = f"{rng.choice(ESTATES)} {rng.choice(WINES)} {rng.randint(2010, 2019)}"
        sales = float(rng.choice([0, 0, 0, 1, 2, 3, 5, 8, 12, 20, 41]))
        web.append(_web_row(sku, title, sales, "product", month, rng))
        web.append(_web_row(sku, title, None, "attachment", month, rng))
    for position in (5, 17):  # negative prices, never on the web
        erp[position][2] = -round(rng.uniform(1, 9), 0)
        unsold, liaison[position][1] = liaison[position][1], None
        web[:] = [row for row in web if row[0] is None or str(row[0]).split(".")[0] != unsold]
    erp[40][3], erp[41][3] = -4, -1  # negative stock
    web.extend([_web_row(None, f"{rng.choice(ESTATES)} Cuvée sans sku", 2.0, "product", month, rng) for _ in range(2)])
    web.extend([[None] * len(WEB_COLUMNS) for _ in range(80)])  # empty rows
    web.extend(list(row) for row in rng.sample(web[:200], 6))  # exact duplicates
    erp.append(list(erp[60]))
    rng.shuffle(web)
    return {
        "erp": xlsx_bytes(ERP_COLUMNS, erp),
        "web": xlsx_bytes(WEB_COLUMNS, web),
        "liaison": xlsx_bytes(LIAISON_COLUMNS, liaison),
    }


def _web_row(
    sku: str | None, title: str, sales: float | None, post_type: str, month: dt.date, rng: random.Random
) -> list[Cell]:
    posted = dt.datetime(2018, 1, 1) + dt.timedelta(minutes=rng.randint(0, 900_000))
    modified = dt.datetime(month.year, month.month, rng.randint(1, 28), rng.randint(8, 20), rng.randint(0, 59))
    slug = (title or "").lower().replace(" ", "-")
    numeric_sku = float(sku) if sku is not None and sku.isdigit() else sku
    image = post_type == "attachment"
    return [
        numeric_sku,
        0,
        0,
        0,
        None if image else 0.0,
        sales,
        None if image else "taxable",
        None,
        2.0,
        posted,
        posted - dt.timedelta(hours=2),
        None,
        title,
        None if image else "Un vin de caractère.",
        "publish",
        "closed",
        "closed",
        None,
        slug,
        modified,
        modified - dt.timedelta(hours=2),
        None,
        0.0,
        f"https://www.bottle-neck.fr/wp-content/uploads/{slug}.jpg"
        if image
        else f"https://www.bottle-neck.fr/?post_type=product&p={sku}",
        0.0,
        post_type,
        "image/jpeg" if image else None,
        0.0,
    ]


def xlsx_bytes(columns: list[str], rows: list[list[Cell]], created: dt.datetime | None = None) -> bytes:
    """The rows as one sheet of a workbook; `created` (its document date, default now) makes the bytes the same
    for the same rows, and two months of the same rows two files."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        buffer, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False}
    )
    if created is not None:
        workbook.set_properties({"created": created})
    sheet = workbook.add_worksheet("Sheet1")
    dates = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    sheet.write_row(0, 0, columns)
    for number, row in enumerate(rows, start=1):
        for column, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, dt.datetime):
                sheet.write_datetime(number, column, value, dates)
            elif isinstance(value, str):
                sheet.write_string(number, column, value)
            else:
                sheet.write_number(number, column, value)
    workbook.close()
    return buffer.getvalue()


def write_month(month: dt.date, exports: dict[str, bytes]) -> None:
    for source, data in exports.items():
        lake.write_bytes(lake.target(month, f"raw_{source}"), data)


DEMO_ADDRESSES = {
    "sender": "BottleNeck reports <reports@bottleneck.example>",
    "receiver": "product-managers@bottleneck.example",
}


def _demo_addresses() -> None:
    """Made-up sender and readers for the demo's .eml, unless a luigi.cfg names real ones."""
    settings = luigi.configuration.get_config()
    if not settings.has_section("email"):
        settings.add_section("email")
    for option, address in DEMO_ADDRESSES.items():
        if not settings.has_option("email", option):
            settings.set("email", option, address)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--month", default="2020-08", help="the month to make and run (YYYY-MM)")
    parser.add_argument("--lake", default=None, help="lake root (default: BOTTLENECK_LAKE or ./lake)")
    args = parser.parse_args(argv)
    if args.lake:
        os.environ["BOTTLENECK_LAKE"] = args.lake
    month = dt.datetime.strptime(args.month, "%Y-%m").date()
    if all(lake.exists(lake.target(month, f"raw_{source}")) for source in layout.SOURCES):
        print(f"Raw exports of {args.month} already in {layout.lake_url()}: running them as they are.")
    else:
        write_month(month, synthetic_month(month))
        print(f"Wrote a synthetic {args.month} to {layout.location(month, 'raw_erp').rsplit('/', 1)[0]}/")

    from bottleneck import cli

    _demo_addresses()
    try:
        cli.main(["RunMonth", "--month", args.month, "--local-scheduler"])
    except SystemExit as exit:
        if exit.code:
            print(f"The demo month failed (exit {exit.code}): see the log above.")
            raise
    for label, dataset in (("Report", "report_xlsx"), ("Email", "email_eml")):
        where = layout.location(month, dataset)
        print(f"{label} of {args.month}: {where if where.startswith('s3://') else os.path.abspath(where)}")


if __name__ == "__main__":
    main()
