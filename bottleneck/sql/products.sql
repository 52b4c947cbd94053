-- The month's products: the inner join of the three clean sources, with revenue in exact cents,
-- and the Excel row each product comes from in each source, so that every row is accounted for.
SELECT
    erp.product_id,
    web.sku,
    web.post_title,
    erp.price,
    web.total_sales,
    CAST(erp.price AS DECIMAL(18, 2)) * CAST(web.total_sales AS DECIMAL(18, 0)) AS revenue,
    erp.stock_quantity,
    erp.stock_status,
    erp.onsale_web,
    erp.source_row AS erp_row,
    liaison.source_row AS liaison_row,
    web.source_row AS web_row
FROM erp_clean AS erp
JOIN liaison_clean AS liaison ON {erp_to_liaison}
JOIN web_clean AS web ON {liaison_to_web}
ORDER BY erp.product_id, web.sku, erp.source_row, liaison.source_row, web.source_row
