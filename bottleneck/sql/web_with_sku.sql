-- A product without a sku cannot be linked to the ERP.
SELECT * FROM web_products WHERE sku IS NOT NULL
