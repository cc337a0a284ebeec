"""The fast (pyarrow) reader of a cut's CSV files gives exactly what the Python reader gives.

``read_csv(..., fast=False)`` is the record-by-record Python reader that the loader falls back
to for anything unusual; every file below must give the same frame (values, spreadsheet row
numbers, dtypes) and the same problems both ways. The column parsers that run as Arrow kernels
are compared with the pandas / Python ``re`` behaviour they replace.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from msc_analysis.io.csv_table import _arrow_records, _blank_rows, read_csv
from msc_analysis.io.parse import _CONTROL, _to_float
from msc_analysis.io.rules import isin
from msc_analysis.io.spec import TABLES

ROOT = Path(__file__).resolve().parents[1]
CUTS = sorted((ROOT / "data" / "cuts").glob("cut-*")) + [ROOT / "tests" / "fixtures" / "valid_cut"]

#: name -> bytes of a small CSV file, each a case where a CSV reader can go wrong.
TRICKY = {
    "plain": b"subject_id,age_years\nA1,30\nA2,41\n",
    "no_final_line_break": b"subject_id,age_years\nA1,30\nA2,41",
    "quoted_commas": b'subject_id,term\nA1,"Fatigue, generalised"\nA2,"a ""quoted"" word"\n',
    "quote_inside_a_field": b'subject_id,term\nA1,ab"c\nA2,"ab"c\nA3, "x"\n',
    "quoted_line_break": b'subject_id,term\nA1,"two\nlines"\nA2,ok\n',
    "quoted_crlf_line_break": b'subject_id,term\r\nA1,"two\r\nlines"\r\nA2,ok\r\n',
    "unterminated_quote": b'subject_id,term\nA1,"open\nA2,ok\n',
    "unterminated_quote_at_the_end": b'subject_id,term\nA1,ok\nA2,"open',
    "crlf": b"subject_id,age_years\r\nA1,30\r\n\r\nA2,41\r\n",
    "cr_only": b"subject_id,age_years\rA1,30\rA2,41\r",
    "bom": b"\xef\xbb\xbfsubject_id,age_years\nA1,30\n",
    "blank_lines": b"subject_id,age_years\n\nA1,30\n\n\nA2,41\n\n",
    "whitespace_only_lines": b"subject_id,age_years\n   \nA1,30\n\t\nA2,41\n",
    "whitespace_only_fields": b"subject_id,age_years\n , \nA1,30\n\xc2\xa0,\xe3\x80\x80\nA2,41\n",
    "trailing_comma_column": b"subject_id,age_years,\nA1,30,\nA2,41,\n",
    "unnamed_column_with_values": b"subject_id,,age_years\nA1,x,30\nA2,,41\n,y,\n",
    "ragged_rows": b"subject_id,age_years\nA1,30,extra\nA2\nA3,52\n",
    "empty_file": b"",
    "blank_file": b"\n\n  \n",
    "header_only": b"subject_id,age_years\n",
    "header_only_no_line_break": b"subject_id,age_years",
    "blank_first_line": b"\nsubject_id,age_years\nA1,30\n",
    "semicolons": b"subject_id;age_years\nA1;30\n",
    "single_column_with_blank_lines": b"subject_id\nA1\n\n  \nA2\n",
    "nul_byte": b"subject_id,age_years\nA1,3\x000\n",
    "latin1": b"subject_id,term\nA1,Febre alta \xe9\n",
    "control_characters": b"subject_id,term\nA1,Fever\x1b[2J\nA2,x\xe2\x80\xaey\n",
    "other_line_separators": b"subject_id,term\nA1,a\xc2\x85b\nA2,c\xe2\x80\xa8d\x0be\x0cf\n",
    "non_ascii": b"subject_id,term\nA1,Prote\xc3\xadna C-reativa\nA2,\xe2\x80\x93\n",
    "duplicate_header": b"subject_id,subject_id\nA1,A2\n",
    "long_line": b"subject_id,term\nA1," + b"x" * 140_000 + b"\n",
}


def _both(data: bytes):
    out = []
    for fast in (True, False):
        problems = []
        frame = read_csv("t.csv", data, problems, fast=fast)
        out.append((frame, [str(p) for p in problems]))
    return out


def _assert_same(data: bytes):
    (fast, fast_problems), (slow, slow_problems) = _both(data)
    assert fast_problems == slow_problems
    assert (fast is None) == (slow is None)
    if fast is not None:
        pd.testing.assert_frame_equal(fast, slow, check_exact=True)
        assert list(fast.dtypes) == [pd.StringDtype("pyarrow", na_value=np.nan)] * fast.shape[1]


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_fast_and_python_readers_give_the_same_frame_and_problems(name):
    _assert_same(TRICKY[name])


@pytest.mark.parametrize("cut", CUTS, ids=lambda p: p.name)
def test_fast_and_python_readers_give_the_same_tables_of_the_shipped_cuts(cut):
    for table in TABLES:
        data = (cut / f"{table}.csv").read_bytes()
        assert _arrow_records(data.removeprefix(b"\xef\xbb\xbf")) is not None, table  # really fast
        _assert_same(data)


@pytest.mark.parametrize("name", ["plain", "no_final_line_break", "quoted_commas", "quote_inside_a_field",
                                  "crlf", "bom", "blank_lines", "whitespace_only_fields",
                                  "trailing_comma_column", "header_only", "non_ascii"])
def test_usual_files_are_read_by_arrow(name):
    assert _arrow_records(TRICKY[name].removeprefix(b"\xef\xbb\xbf")) is not None


@pytest.mark.parametrize("name", ["quoted_line_break", "quoted_crlf_line_break", "unterminated_quote",
                                  "cr_only", "whitespace_only_lines", "ragged_rows", "nul_byte",
                                  "latin1", "long_line", "blank_first_line"])
def test_unusual_files_are_left_to_the_python_reader(name):
    assert _arrow_records(TRICKY[name]) is None


def test_rows_keep_their_spreadsheet_numbers_across_blank_lines():
    (frame, _), _ = _both(TRICKY["blank_lines"])
    assert frame.index.tolist() == [3, 6]  # header 1, blank 2, A1 3, blank 4-5, A2 6


def test_a_cell_is_blank_exactly_when_python_strip_empties_it():
    every = [chr(i) for i in range(sys.maxunicode + 1) if not 0xD800 <= i <= 0xDFFF]  # no surrogates
    cells = every + ["", " x ", "  \u3000\n", "\t\x1c\x85\xa0 \u2000\u200a\u205f", "\u200b\u200a"]
    blank = _blank_rows([pa.chunked_array([pa.array(cells)])])
    assert blank.tolist() == [not c.strip() for c in cells]


def test_numbers_are_read_as_pandas_to_numeric_reads_them():
    texts = ["", "37.4", "-0", "0.1", "00012.50", "1e5", "1E-3", "-1.5e+2", "inf", "nan", "1,5", "1.",
             ".5", "+3", "\u0663", "9007199254740993", "123456789012345678901234", "1." + "3" * 30,
             "0x10", "1_000", "abc", "12-3"]
    s = pd.Series(texts, dtype="str")
    expected = pd.to_numeric(s.where(s != ""), errors="coerce").astype("float64")
    got = _to_float(s)
    assert np.array_equal(got.to_numpy().view(np.int64)[got.notna()],
                          expected.to_numpy().view(np.int64)[got.notna()])
    assert got.isna().tolist() == expected.isna().tolist()


def test_control_character_pattern_means_the_same_to_arrow_and_to_python():
    cells = ["abc", "a\x1bb", "x\u202ey", "\u2066", "\x85", "\x7f", "z\u2069", "\u2070", "\t", "\n\r",
             "\x00", "", "\u202f", "\x9f", "\xa0", "\u2065", "\u202a\u202e"]
    arrow = pd.Series(cells, dtype="str").str.contains(_CONTROL, regex=True).tolist()
    assert arrow == [re.search(_CONTROL, c) is not None for c in cells]


def test_isin_of_text_gives_what_pandas_gives():
    codes = pd.Series(["A1", None, "B2", "a1", "C3"], dtype="string")
    known = pd.Series(["A1", "C3", "Z9"], dtype="string").unique()
    assert isin(codes, known).tolist() == codes.isin(list(known)).tolist() == [True, False, False, False, True]
    assert isin(codes, known).index.equals(codes.index)
