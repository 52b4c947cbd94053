-- A row repeated with every value identical counts once (the first one exported).
SELECT * FROM erp_priced
QUALIFY row_number() OVER (
    PARTITION BY product_id, onsale_web, price, stock_quantity, stock_status ORDER BY source_row
) = 1
