-- The month's products: the inner join of the three clean sources, with revenue in exact cents.
SELECT
    erp.product_id,
    web.sku,
    web.post_title,
    erp.price,
    web.total_sales,
    CAST(erp.price AS DECIMAL(18, 2)) * CAST(web.total_sales AS DECIMAL(18, 0)) AS revenue,
    erp.stock_quantity,
    erp.stock_status,
    erp.onsale_web
FROM erp_clean AS erp
JOIN liaison_clean AS liaison USING (product_id)
JOIN web_clean AS web ON web.sku = liaison.id_web
ORDER BY erp.product_id, web.sku
