-- A liaison row without a web id links the ERP product to nothing on the web.
SELECT * FROM staged_liaison WHERE id_web IS NOT NULL
