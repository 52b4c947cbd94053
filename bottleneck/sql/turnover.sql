-- The month's turnover, summed in exact decimal cents.
SELECT coalesce(sum(revenue), 0) FROM products
