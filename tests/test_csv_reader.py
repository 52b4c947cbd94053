"""The month's CSVs read back as their readers' tools parse them."""

import pytest

from bottleneck.csv_reader import as_written, csv_columns
from bottleneck.csv_writer import wines_csv
from tests.frames import HOSTILE_TITLES, wines


def test_csv_columns_reads_what_the_csv_holds_row_for_row():
    titles = ('Ch\u00e2teau "X", 2016\r\nsecond line', "\rReturn", "plain")
    columns = csv_columns(wines_csv(wines(titles)), ("post_title", "revenue"))
    assert columns == {"post_title": [titles[0], "'\rReturn", "plain"], "revenue": ["72.60", "102.90", "900.00"]}
    with pytest.raises(ValueError, match="row 3 has 8 fields, the header 9"):
        csv_columns(b"\r\n".join([*wines_csv(wines()).split(b"\r\n")[:2], b"1,2,3,4,5,6,7,8"]), ("sku",))
    with pytest.raises(ValueError, match="no column wine in the header"):
        csv_columns(wines_csv(wines()), ("wine",))


def test_as_written_removes_only_the_apostrophe_the_writer_added():
    assert [as_written("'" + title) for title in HOSTILE_TITLES] == HOSTILE_TITLES
    assert as_written("'quoted'") == "'quoted'"
    assert as_written("plain") == "plain"
