"""The naive flow the original pipeline used, as one plain script: the baselines the benchmark measures.

pandas read_excel (openpyxl) -> CSV -> DuckDB cleaning and join -> pandas z-score -> CSVs and a workbook.
Same reference rules as the pipeline; prints the month's figures as JSON. The workbook, two ways:
  --writer openpyxl     (default) openpyxl, a summary, every product and the premium wines: the original flow;
  --writer xlsxwriter   pandas' own default engine when xlsxwriter is installed, and one sheet of products,
                        as the seed's flow wrote it: the stronger naive flow.

Usage: python benchmarks/baseline.py [--writer openpyxl|xlsxwriter] INPUT_FOLDER OUTPUT_FOLDER
"""

import json
import sys
from pathlib import Path

import duckdb
import pandas as pd

PREMIUM_ZSCORE = 2.0


WRITERS = ("openpyxl", "xlsxwriter")


def main(argv: list[str]) -> int:
    writer = "openpyxl"
    if argv[:1] == ["--writer"] and len(argv) > 1:
        writer, argv = argv[1], argv[2:]
    if len(argv) != 2 or writer not in WRITERS:
        print(__doc__, file=sys.stderr)
        return 2
    source, out = Path(argv[0]), Path(argv[1])
    out.mkdir(parents=True, exist_ok=True)

    # 1. Excel -> CSV, as the original notebook did.
    for name in ("erp", "web", "liaison"):
        pd.read_excel(source / f"{name}.xlsx", engine="openpyxl").to_csv(out / f"{name}.csv", index=False)

    # 2. Cleaning and join in DuckDB. Ids are read as text so '15298' matches 15298 and the gift card's sku.
    con = duckdb.connect()
    con.execute(f"""
        CREATE TABLE erp AS SELECT * FROM read_csv('{out / "erp.csv"}', header = true,
            types = {{'product_id': 'VARCHAR'}});
        CREATE TABLE web AS SELECT * FROM read_csv('{out / "web.csv"}', header = true,
            types = {{'sku': 'VARCHAR'}});
        CREATE TABLE liaison AS SELECT * FROM read_csv('{out / "liaison.csv"}', header = true,
            types = {{'product_id': 'VARCHAR', 'id_web': 'VARCHAR'}});
        CREATE TABLE erp_clean AS SELECT * FROM erp WHERE price > 0;
        CREATE TABLE web_clean AS SELECT DISTINCT * FROM web WHERE post_type = 'product' AND sku IS NOT NULL;
        CREATE TABLE liaison_clean AS SELECT * FROM liaison WHERE id_web IS NOT NULL;
        CREATE TABLE products AS
            SELECT e.product_id, l.id_web, w.post_title, e.price, w.total_sales,
                   e.price * w.total_sales AS revenue, e.stock_quantity, e.stock_status
            FROM erp_clean e
            JOIN liaison_clean l ON e.product_id = l.product_id
            JOIN web_clean w ON w.sku = l.id_web;
    """)
    products = con.execute("SELECT * FROM products ORDER BY product_id").df()
    turnover = float(con.execute("SELECT coalesce(sum(revenue), 0) FROM products").fetchall()[0][0])

    # 3. z-score in pandas (sample standard deviation).
    products["zscore"] = (products["price"] - products["price"].mean()) / products["price"].std()
    premium = products[products["zscore"] > PREMIUM_ZSCORE]
    ordinary = products[products["zscore"] <= PREMIUM_ZSCORE]

    # 4. CSVs and an Excel report.
    premium.to_csv(out / "premium_wines.csv", index=False)
    ordinary.to_csv(out / "ordinary_wines.csv", index=False)
    if writer == "xlsxwriter":
        products.to_excel(out / "report.xlsx", sheet_name="products", index=False)  # pandas' default engine
    else:
        with pd.ExcelWriter(out / "report.xlsx", engine="openpyxl") as book:
            pd.DataFrame(
                {
                    "figure": ["products", "turnover", "premium", "ordinary"],
                    "value": [len(products), round(turnover, 2), len(premium), len(ordinary)],
                }
            ).to_excel(book, sheet_name="summary", index=False)
            products.to_excel(book, sheet_name="products", index=False)
            premium.to_excel(book, sheet_name="premium", index=False)

    print(
        json.dumps(
            {
                "products": len(products),
                "turnover": round(turnover, 2),
                "premium": len(premium),
                "ordinary": len(ordinary),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
