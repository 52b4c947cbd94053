-- A row repeated with every value identical counts once (the first one exported).
SELECT * FROM web_with_sku
QUALIFY row_number() OVER (PARTITION BY sku, post_type, post_title, total_sales ORDER BY source_row) = 1
