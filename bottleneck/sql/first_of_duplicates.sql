-- A row repeating an earlier one in the rule's columns counts once: the first one exported.
SELECT * FROM {after}
QUALIFY row_number() OVER (PARTITION BY {columns} ORDER BY source_row) = 1
