"""Turns the bytes of one raw export into its typed, validated staging table."""

import re

import pandas as pd
import pandera.errors
from pandas.api.typing import NAType

from bottleneck import xlsx_reader
from bottleneck.errors import InvalidInputError
from bottleneck.schemas import STAGED, VOCABULARIES
from bottleneck.wording import shown

ID_COLUMNS = {"erp": ["product_id"], "web": ["sku"], "liaison": ["product_id", "id_web"]}
WHOLE_NUMBER_TEXT = re.compile(r"^[+-]?\d+\.0*$")
FAILURES_SHOWN = 5


def required_columns(source: str) -> list[str]:
    return [name for name in STAGED[source].to_schema().columns if name != "source_row"]


def staged_table(source: str, data: bytes, file: str, max_file_mb: float, max_unpacked_mb: float) -> pd.DataFrame:
    """The typed rows of one export; InvalidInputError lists every failing column and rule at once."""
    rows = xlsx_reader.read_table(
        data, file, required_columns(source), max_file_mb, max_unpacked_mb, text=tuple(ID_COLUMNS[source])
    )
    for name in ID_COLUMNS[source]:
        rows[name] = normalised_ids(rows[name])
    for name, vocabulary in VOCABULARIES.get(source, {}).items():
        rows[name] = folded_to_vocabulary(rows[name], vocabulary)
    try:
        return STAGED[source].validate(rows, lazy=True).reset_index(drop=True)
    except pandera.errors.SchemaErrors as errors:
        raise InvalidInputError(f"{file}: {schema_failures(errors.failure_cases, rows, source)}") from None


def normalised_ids(ids: pd.Series) -> pd.Series:
    """Ids as text: '15298', whether exported as 15298, 15298.0, '15298.0' or ' 15298 '; blank is None."""
    # A Python loop over the cells: pandas' string methods each made a pass of their own (0.27 -> 0.11 s
    # for the 400,000 ids of a month a hundred times the size of a real one).
    return pd.Series([_normalised_id(value) for value in ids.tolist()], index=ids.index, dtype=object)


def _normalised_id(value: str | float | NAType | None) -> str | None:
    if pd.isna(value):  # None, NaN or pd.NA: an empty cell
        return None
    text = str(value).strip()
    if "." in text and WHOLE_NUMBER_TEXT.match(text):  # a whole number written as a decimal
        text = text.split(".")[0].lstrip("+")
    return text or None


def folded_to_vocabulary(values: pd.Series, vocabulary: tuple[str | int, ...]) -> pd.Series:
    """Each text cell as its vocabulary spells it where it differs only by case or surrounding spaces
    (' Product ', 'INSTOCK'); a blank cell is empty; any other value is left as it is, for the schema to
    refuse by name."""
    spellings = {word.casefold(): word for word in vocabulary if isinstance(word, str)}
    if not spellings:
        return values  # a vocabulary of numbers: the cells are typed, not folded

    def folded(value: object) -> object:
        if not isinstance(value, str):
            return value
        text = value.strip()
        return spellings.get(text.casefold(), text) if text else None

    return pd.Series([folded(value) for value in values.tolist()], index=values.index, dtype=object)


def schema_failures(failure_cases: pd.DataFrame, rows: pd.DataFrame, source: str = "") -> str:
    """One line a failing column and rule, naming a few failing values and their Excel rows."""
    coerce_failed = set(failure_cases.loc[failure_cases["check"].astype(str).str.startswith("coerce_dtype"), "column"])
    lines = []
    for (column, check), cases in failure_cases.groupby(["column", "check"], sort=False, dropna=False):
        check = str(check)
        if column in coerce_failed and not check.startswith("coerce_dtype"):
            continue  # the type is wrong: its other rules cannot be judged
        rule = check.replace("coerce_dtype", "type").replace("not_nullable", "not empty")
        vocabulary = VOCABULARIES.get(source, {}).get(str(column))
        breaks = f"breaks rule '{rule}'"
        if vocabulary is not None and check.startswith("isin"):
            breaks = f"has a value outside its vocabulary ({', '.join(map(str, vocabulary))})"
        examples = []
        for _, case in cases.head(FAILURES_SHOWN).iterrows():
            index = case["index"]
            where = f" (row {rows['source_row'].at[index]})" if index is not None and index in rows.index else ""
            examples.append(f"{shown(case['failure_case'])}{where}")
        more = f" and {len(cases) - FAILURES_SHOWN} more" if len(cases) > FAILURES_SHOWN else ""
        lines.append(f"column '{column}' {breaks}: {', '.join(examples)}{more}")
    return "; ".join(lines)
