-- Reference rule: an ERP row whose price is not above zero is no sellable product.
SELECT * FROM staged_erp WHERE price > 0
