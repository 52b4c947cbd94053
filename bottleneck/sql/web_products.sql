-- WooCommerce exports image attachments and empty rows beside products: keep the products.
SELECT * FROM staged_web WHERE post_type = 'product'
