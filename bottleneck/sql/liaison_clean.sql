-- A row repeated with every value identical counts once (the first one exported).
SELECT * FROM liaison_linked
QUALIFY row_number() OVER (PARTITION BY product_id, id_web ORDER BY source_row) = 1
