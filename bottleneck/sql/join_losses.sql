-- Clean rows that the inner join leaves out, so that every dropped row is accounted for.
-- Ordered: DuckDB's threads return them in any order, and a re-run must give the same report.
SELECT 'erp' AS source, source_row, CAST(product_id AS VARCHAR) AS key
FROM erp_clean
WHERE product_id NOT IN (SELECT product_id FROM products)
UNION ALL
SELECT 'liaison', source_row, CAST(product_id AS VARCHAR)
FROM liaison_clean AS liaison
WHERE NOT EXISTS (
    SELECT 1 FROM products WHERE products.product_id = liaison.product_id AND products.sku = liaison.id_web
)
UNION ALL
SELECT 'web', source_row, sku
FROM web_clean
WHERE sku NOT IN (SELECT sku FROM products)
ORDER BY source, source_row
