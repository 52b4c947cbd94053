-- A cleaning rule that keeps the rows meeting its condition (each rule is declared in reconcile.RULES).
SELECT * FROM {after} WHERE {condition}
