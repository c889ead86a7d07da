"""Reading raw files: numbers as Vietnamese files write them, CSV dialects and encodings,
Excel grids with merged cells, and what a file that is not a table really holds."""

from __future__ import annotations

import math

import openpyxl
import pytest

from par_review.errors import InputError
from par_review.rawdata.rawio import (
    cell_text,
    describe_content,
    is_blank_row,
    match_header,
    parse_number,
    read_grid,
)


@pytest.mark.parametrize(
    "text,value",
    [
        ("85,32", 85.32),
        ("85.32", 85.32),
        ("85,32%", 85.32),
        (" 85,32 ", 85.32),
        ("85,32 %", 85.32),
        ("\u00a085,32\u00a0", 85.32),
        ("100", 100.0),
        ("0,5", 0.5),
        ("-3,5", -3.5),
        ("+2,25", 2.25),
        ("1.234,56", 1234.56),
        ("1,234.56", 1234.56),
        ("1 234,5", 1234.5),
        ("96.86%", 96.86),
        (85.32, 85.32),
        (85, 85.0),
        (0, 0.0),
    ],
)
def test_parse_number(text, value):
    assert parse_number(text) == pytest.approx(value, abs=1e-12)


@pytest.mark.parametrize("blank", [None, "", "   ", "-", "—", "%", math.nan])
def test_parse_number_blank_is_none(blank):
    assert parse_number(blank) is None


@pytest.mark.parametrize(
    "bad", ["abc", "85,3x", "12/5", "85,32,1", "8 5", "85 32", "Tốt", "1e5", True, "85..3"]
)
def test_parse_number_rejects_non_numbers(bad):
    with pytest.raises(ValueError):
        parse_number(bad)


def test_cell_text_and_blank_rows():
    assert cell_text(None) == ""
    assert cell_text(3.0) == "3"
    assert cell_text(3.5) == "3.5"
    assert cell_text("  Sở\u00a0 Nội   vụ ") == "Sở Nội vụ"
    assert is_blank_row([None, "", "  ", "\u00a0"])
    assert not is_blank_row([None, 0])


def test_match_header_ignores_case_spacing_diacritics_and_nfd():
    aliases = ["Tên cơ quan, đơn vị", "Đơn vị"]
    assert match_header("TÊN CƠ QUAN,  ĐƠN VỊ", aliases)
    assert match_header("Ten co quan, don vi", aliases)
    assert match_header("Đơn vị", aliases)
    assert not match_header("Đơn vị tính", aliases)
    assert not match_header("", aliases)
    assert not match_header(None, aliases)


def test_read_csv_utf8_bom_semicolons_and_cp1258(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("STT;Tên đơn vị;Chỉ số\n1;Sở Tư pháp;85,32\n", encoding="utf-8-sig")
    g = read_grid(p)
    assert g.rows == [["STT", "Tên đơn vị", "Chỉ số"], ["1", "Sở Tư pháp", "85,32"]]
    assert g.sheet is None and g.row_numbers == [1, 2]
    q = tmp_path / "b.csv"
    q.write_bytes("STT,Tên\n1,Khá\n".encode("cp1258"))  # Windows Vietnamese code page
    assert read_grid(q).rows[1] == ["1", "Khá"]


def test_read_xlsx_first_sheet_with_merged_cells(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "PL1"
    ws.append(["STT", "Tên", "Điểm"])
    ws.append([None, None, "A"])
    ws.merge_cells("A1:A2")
    wb.create_sheet("Other").append(["ignored"])
    wb.save(tmp_path / "a.xlsx")
    g = read_grid(tmp_path / "a.xlsx", "shown/a.xlsx")
    assert g.sheet == "PL1" and str(g.file) == "shown/a.xlsx"
    assert g.rows[0] == ["STT", "Tên", "Điểm"]
    assert g.rows[1][0] is None and g.rows[1][2] == "A"


def test_read_grid_errors(tmp_path):
    with pytest.raises(InputError, match="file not found") as info:
        read_grid(tmp_path / "missing.xlsx", "data/raw/khanh_hoa/2022/missing.xlsx")
    assert info.value.file == "data/raw/khanh_hoa/2022/missing.xlsx"
    (tmp_path / "a.ods").write_bytes(b"PK\x03\x04")
    with pytest.raises(InputError, match="unsupported file type") as info:
        read_grid(tmp_path / "a.ods")
    assert info.value.found == ".ods"
    (tmp_path / "nul.csv").write_bytes(b"a,b\x00c")
    with pytest.raises(InputError, match="not a text"):
        read_grid(tmp_path / "nul.csv")


@pytest.mark.parametrize(
    "content,what",
    [
        (b"%PDF-1.4", "a PDF document"),
        (b"\xd0\xcf\x11\xe0" + bytes(10), "old Excel 97-2003"),
        (b"<html><body>", "HTML"),
        (b"", "empty file"),
        (bytes(range(256)), "binary data"),
        ("Tên đơn vị,Điểm\n".encode() * 30, "plain text (CSV-like"),
        (b"root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1\n", "plain text"),
        ("\ufeffSTT\tTên\n".encode("utf-16-le"), "UTF-16 text"),
    ],
)
def test_describe_content(tmp_path, content, what):
    """What a file holds, never what it says (a message may be published)."""
    p = tmp_path / "f"
    p.write_bytes(content)
    described = describe_content(p)
    assert what in described
    for word in ("Tên", "root:x", "/bin/bash", "STT"):
        assert word not in described


def test_percent_formatted_excel_cells_read_as_shown(tmp_path):
    """Excel stores '85,32%' as 0.8532 with a % number format; the grid holds 85.32."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Chỉ số", "Điểm", "Tỷ lệ"])
    ws.append([0.8532, 8.5, 1])
    ws["A2"].number_format = "0.00%"
    ws["C2"].number_format = "0%"
    wb.save(tmp_path / "p.xlsx")
    assert read_grid(tmp_path / "p.xlsx").rows[1] == [85.32, 8.5, 100]
