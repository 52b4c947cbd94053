-- Clean rows that the inner join leaves out, so that every dropped row is accounted for.
-- Ordered: DuckDB's threads return them in any order, and a re-run must give the same report.
SELECT 'erp' AS source, source_row, CAST(product_id AS VARCHAR) AS key
FROM erp_clean
WHERE source_row NOT IN (SELECT erp_row FROM products)
UNION ALL
SELECT 'liaison', source_row, CAST(product_id AS VARCHAR)
FROM liaison_clean
WHERE source_row NOT IN (SELECT liaison_row FROM products)
UNION ALL
SELECT 'web', source_row, sku
FROM web_clean
WHERE source_row NOT IN (SELECT web_row FROM products)
ORDER BY source, source_row
