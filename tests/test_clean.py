"""Cleaning: every parser rule and every input error of issues 2 and 14, on small raw files
that the tests write themselves (openpyxl workbooks and CSV text in tmp_path).

Errors must name the file, sheet, row, column, the value found and the value expected, in
Vietnamese and in English, and leave data/processed untouched (all or nothing)."""

from __future__ import annotations

import csv
import re
import time
import unicodedata
from pathlib import Path

import openpyxl
import pytest

from par_review.clean.tables import (
    clean_year,
    parse_satisfaction_table,
    parse_unit_table,
    read_processed,
    unit_columns,
    write_processed,
)
from par_review.errors import InputError
from par_review.rawdata.rawio import read_grid
from par_review.rawdata.registry import load_registry

YEAR = 2022
TITLE = [
    ["UBND TỈNH KHÁNH HÒA", None, None, None, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"],
    ["SỞ NỘI VỤ", None, None, None, "Độc lập - Tự do - Hạnh phúc"],
    ["", None, None, None, "Khánh Hòa, ngày 15 tháng 01 năm 2023"],  # issue date: not the data year
    [],
]


# --------------------------------------------------------------------------------------
# fixture builders
def title_block(year: int = YEAR) -> list[list]:
    return [*TITLE, [f"KẾT QUẢ XẾP HẠNG CHỈ SỐ CẢI CÁCH HÀNH CHÍNH NĂM {year}"], []]


def areas_for(cfg, level: str, score: float) -> list[float]:
    return [round(a.max * score / 100, 2) for a in cfg.areas(level)]


def header(
    cfg,
    level: str,
    top: int,
    *,
    two_row: bool = True,
    district: bool = False,
    name_col: str | None = None,
    drop: str | None = None,
):
    """Header rows starting at Excel row `top`; returns (rows, merge ranges, n columns)."""
    areas = [a.label("vi") for a in cfg.areas(level)]
    name_col = name_col or (
        "Tên cơ quan, đơn vị" if level == "provincial" else "Tên xã, phường, thị trấn"
    )
    fixed = ["STT", name_col] + (["Huyện, thị xã, thành phố"] if district else [])
    tail = ["Tổng điểm", "Chỉ số CCHC (%)", "Xếp loại"]
    if drop:
        tail = [t for t in tail if t != drop]
    if not two_row:
        return [fixed + areas + tail], [], len(fixed) + len(areas) + len(tail)
    h1 = fixed + ["Điểm theo lĩnh vực"] + [None] * (len(areas) - 1) + tail
    h2 = [None] * len(fixed) + areas + [None] * len(tail)
    L = openpyxl.utils.get_column_letter
    merges = [f"{L(j)}{top}:{L(j)}{top + 1}" for j in range(1, len(fixed) + 1)]
    a0 = len(fixed) + 1
    merges.append(f"{L(a0)}{top}:{L(a0 + len(areas) - 1)}{top}")
    merges += [f"{L(j)}{top}:{L(j)}{top + 1}" for j in range(a0 + len(areas), len(h1) + 1)]
    return [h1, h2], merges, len(h1)


def data_row(cfg, level, stt, name, score, tier, district=None, *, score_cell=None, drop=None):
    pts = areas_for(cfg, level, score)
    row = [stt, name] + ([district] if district is not None else []) + pts
    tail = {
        "Tổng điểm": round(sum(pts), 2),
        "Chỉ số CCHC (%)": score if score_cell is None else score_cell,
        "Xếp loại": tier,
    }
    return row + [v for k, v in tail.items() if k != drop]


def write_xlsx(path: Path, rows: list[list], merges=(), sheet: str = "PL1") -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    for r in rows:
        ws.append(list(r))
    for m in merges:
        ws.merge_cells(m)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def write_csv(path: Path, rows: list[list]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows([["" if c is None else c for c in r] for r in rows])
    return path


def provincial_book(cfg, units, *, year=YEAR, two_row=True, drop=None, sections=True):
    """A PL1-style appendix: title block, merged two-row header, a section row, data rows,
    a blank row and an average row. `units` = [(name, score, tier), ...]."""
    rows = title_block(year)
    head, merges, n = header(cfg, "provincial", len(rows) + 1, two_row=two_row, drop=drop)
    rows += head
    if sections:
        rows.append(["I", "SỞ, BAN, NGÀNH"])
    for i, (name, score, tier) in enumerate(units, 1):
        rows.append(data_row(cfg, "provincial", i, name, score, tier, drop=drop))
    if sections:
        rows.append([])
        rows.append([None, "Điểm trung bình"] + [None] * (n - 4) + [80.0, None])
    return rows, merges


@pytest.fixture(scope="module")
def reg(cfg):
    return load_registry(cfg.dir)


def parse_file(path, cfg, reg, level="provincial", year=YEAR):
    return parse_unit_table(read_grid(path), cfg, reg, level, year)


def raw_dir(paths, year=YEAR) -> Path:
    return paths.raw_year(year)


def assert_nothing_written(paths) -> None:
    if paths.processed.exists():
        assert [p.name for p in paths.processed.iterdir()] == [], "data/processed was written"


def check_error(
    exc: InputError,
    *,
    file: str,
    problem: str,
    sheet=None,
    row=None,
    column=None,
    found=None,
    expected=None,
    found_vi=None,
) -> None:
    """The error's fields and its message both name each given piece, in the Vietnamese line
    and in the English line (Vietnamese first); `found_vi`: the found value as the Vietnamese
    line writes it, when that differs (a number from an Excel cell: comma decimals)."""
    msg = str(exc)
    vi, en = msg.split("\n")
    assert unicodedata.is_normalized("NFC", msg)
    assert str(exc.file) == file and vi.startswith(file) and en.startswith(file), msg
    assert not Path(str(exc.file)).is_absolute()
    assert problem in exc.problem and exc.problem in en, msg
    assert exc.problem_vi and exc.problem_vi in vi, msg
    if sheet is not None:
        assert exc.sheet == sheet and f"sheet '{sheet}'" in en, msg
        assert f"trang tính '{sheet}'" in vi, msg
    if row is not None:
        assert exc.row == row and re.search(rf"\brow {row}\b", en), msg
        assert re.search(rf"\bdòng {row}\b", vi), msg
    if column is not None:
        assert exc.column == column and f"column '{column}'" in en, msg
        assert f"cột '{column}'" in vi, msg
    if found is not None:
        assert found in str(exc.found) and f"found {exc.found_text()}" in en, msg
        assert f"giá trị gặp {exc.found_text('vi')}" in vi, msg
        assert (found_vi or found) in vi, msg
    if expected is not None:
        assert expected in str(exc.expected) and "expected" in en and expected in en, msg
        assert "giá trị cần" in vi and exc.expected_vi in vi, msg
    d = exc.to_dict()
    assert d["problem"] == exc.problem and d["problem_vi"] == exc.problem_vi
    assert d["message"] == {"vi": vi, "en": en}


UNITS = [("Sở Tư pháp", 91.25, "Tốt"), ("Sở Nội vụ", 84.99, "Khá"), ("Công an tỉnh", 85.0, "Tốt")]


def full_roster(cfg, reg, level="provincial", year=YEAR):
    """UNITS first, then every other unit of the registry's roster (a complete table)."""
    units = list(UNITS) if level == "provincial" else []
    named = {reg.match(n, level, year).unit_id for n, _, _ in units}
    for k, u in enumerate(reg.roster(year, level)):
        if u.unit_id not in named:
            score = 60.0 + (k * 7.3) % 39
            units.append((u.name, score, cfg.tier(cfg.tier_for_score(score, year, level)).label()))
    return units


# --------------------------------------------------------------------------------------
# parser rules
def test_header_below_title_block_with_merged_two_row_header(tmp_path, cfg, reg):
    rows, merges = provincial_book(cfg, UNITS)
    df = parse_file(write_xlsx(tmp_path / "p.xlsx", rows, merges), cfg, reg)
    assert list(df.columns) == unit_columns(cfg, "provincial")  # the documented schema
    assert df["unit_id"].tolist() == ["p-so-tu-phap", "p-so-noi-vu", "p-cong-an"]
    assert df["score"].tolist() == [91.25, 84.99, 85.0]
    assert df["tier"].tolist() == ["tot", "kha", "tot"]
    # area columns come from the second header row, under the merged "Điểm theo lĩnh vực"
    first_area = cfg.areas("provincial")[0]
    assert df.loc[0, first_area.column] == round(first_area.max * 91.25 / 100, 2)
    assert df.loc[2, "area_tac_dong"] == round(15.5 * 85.0 / 100, 2)
    # source rows are the Excel row numbers: 6 title rows, 2 header rows, 1 section row
    assert df["source_row"].tolist() == [10, 11, 12]
    assert set(df["year"]) == {YEAR} and set(df["level"]) == {"provincial"}
    assert "stt" not in df.columns and "STT" not in df.columns


def test_single_row_header_in_csv(tmp_path, cfg, reg):
    head, _, _ = header(cfg, "provincial", 2, two_row=False)
    rows = [[f"KẾT QUẢ CHỈ SỐ CCHC NĂM {YEAR}"], *head]
    rows += [data_row(cfg, "provincial", i, n, s, t) for i, (n, s, t) in enumerate(UNITS, 1)]
    df = parse_file(write_csv(tmp_path / "p.csv", rows), cfg, reg)
    assert df["unit_id"].tolist() == ["p-so-tu-phap", "p-so-noi-vu", "p-cong-an"]
    assert df["source_row"].tolist() == [3, 4, 5]


def test_vietnamese_header_spellings(tmp_path, cfg, reg):
    """Headers match ignoring case, diacritics, spacing and NFD; aliases from the config."""
    areas = [a.label("vi").upper() for a in cfg.areas("provincial")]
    head = [
        "SỐ TT",
        unicodedata.normalize("NFD", "  Tên  đơn vị "),
        *areas,
        "Tong diem",
        "CHỈ SỐ CCHC",
        "Kết quả xếp loại",
    ]
    rows = [head, data_row(cfg, "provincial", 1, "Sở Tư pháp", 90.5, "Tốt")]
    df = parse_file(write_csv(tmp_path / "p.csv", rows), cfg, reg)
    assert df.loc[0, "unit_id"] == "p-so-tu-phap" and df.loc[0, "score"] == 90.5
    assert df.loc[0, "area_chi_dao"] == round(10 * 90.5 / 100, 2)


@pytest.mark.parametrize(
    "cell", ["85,32", "85.32", "85,32%", " 85,32 ", "85,32 %", "\u00a085,32%", 85.32]
)
def test_score_formats_in_a_file(tmp_path, cfg, reg, cell):
    head, _, _ = header(cfg, "provincial", 1, two_row=False)
    rows = [*head, data_row(cfg, "provincial", 1, "Sở Nội vụ", 85.32, "Tốt", score_cell=cell)]
    df = parse_file(write_csv(tmp_path / "p.csv", rows), cfg, reg)
    assert df.loc[0, "score"] == pytest.approx(85.32, abs=1e-12)


@pytest.mark.parametrize(
    "label,tier",
    [
        ("tốt", "tot"),
        ("TỐT", "tot"),
        ("Tot", "tot"),
        ("Tốt", "tot"),
        (" Tốt ", "tot"),
        (unicodedata.normalize("NFD", "Tốt"), "tot"),
        ("Xếp loại Tốt", "tot"),
        ("KHÁ", "kha"),
        ("kha", "kha"),
        ("Trung bình", "trung_binh"),
        ("TB", "trung_binh"),
        ("trung  binh", "trung_binh"),
        ("yếu", "yeu"),
        ("YEU", "yeu"),
    ],
)
def test_tier_labels_are_normalised(tmp_path, cfg, reg, label, tier):
    score = {"tot": 90.0, "kha": 80.0, "trung_binh": 60.0, "yeu": 40.0}[tier]  # in its band
    head, _, _ = header(cfg, "provincial", 1, two_row=False)
    rows = [*head, data_row(cfg, "provincial", 1, "Sở Nội vụ", score, label)]
    df = parse_file(write_csv(tmp_path / "p.csv", rows), cfg, reg)
    assert df["tier"].tolist() == [tier]


def test_drops_section_blank_and_total_rows(tmp_path, cfg, reg):
    head, merges, n = header(cfg, "provincial", 1)
    filler = [None] * (n - 2)
    rows = [
        *head,
        ["I", "SỞ, BAN, NGÀNH"],  # section (roman numeral)
        data_row(cfg, "provincial", 1, "Sở Tư pháp", 90.0, "Tốt"),
        [None, None, *filler],  # blank
        ["A", "Cơ quan ngành dọc"],  # section (letter)
        data_row(cfg, "provincial", "2.", "Công an tỉnh", 84.0, "Khá"),  # "2." is a number
        [None, "Tổng cộng", *[1.0] * (n - 2)],  # total with values
        [None, "TONG CONG:", *[1.0] * (n - 2)],  # total without diacritics
        [None, "Điểm trung bình", *filler[:-2], 87.0, None],
        [None, None, *[1.0] * (n - 2)],
    ]  # unlabelled sum line
    df = parse_file(write_xlsx(tmp_path / "p.xlsx", rows, merges), cfg, reg)
    assert df["unit_id"].tolist() == ["p-so-tu-phap", "p-cong-an"]
    assert df["source_row"].tolist() == [4, 7]


def test_unit_named_like_a_total_label_is_kept_without_stt(tmp_path, cfg, reg):
    """'Công an tỉnh' reads like the total label 'Cộng' without diacritics; with no STT
    number on its row it is still a unit, not a total line (it used to be dropped)."""
    head, _, _ = header(cfg, "provincial", 1, two_row=False)
    rows = [
        *head,
        data_row(cfg, "provincial", None, "Công an tỉnh", 84.0, "Khá"),
        data_row(cfg, "provincial", None, "Sở Tư pháp", 90.0, "Tốt"),
        [None, "Cộng", *[1.0] * (len(head[0]) - 2)],
    ]
    df = parse_file(write_csv(tmp_path / "p.csv", rows), cfg, reg)
    assert df["unit_id"].tolist() == ["p-cong-an", "p-so-tu-phap"]


def test_name_variants_map_to_one_unit(tmp_path, cfg, reg):
    variants = [
        (unicodedata.normalize("NFD", "Sở Tư pháp"), "p-so-tu-phap"),  # NFD diacritics
        ("  Sở   Nội  vụ ", "p-so-noi-vu"),  # stray spaces
        ("CÔNG AN TỈNH", "p-cong-an"),  # upper case
        ("Văn phòng Ủy ban nhân dân tỉnh", "p-vp-ubnd"),  # alias
        ("Sở KH&ĐT", "p-so-khdt"),  # alias
        ("sở\u00a0tài chính", "p-so-tai-chinh"),  # lower case, nbsp
    ]
    head, _, _ = header(cfg, "provincial", 1, two_row=False)
    rows = [*head] + [
        data_row(cfg, "provincial", i, n, 80.0, "Khá") for i, (n, _) in enumerate(variants, 1)
    ]
    df = parse_file(write_csv(tmp_path / "p.csv", rows), cfg, reg)
    assert df["unit_id"].tolist() == [uid for _, uid in variants]
    assert df.loc[3, "unit_name"] == "Văn phòng UBND tỉnh"  # the official name
    assert df.loc[3, "raw_name"] == "Văn phòng Ủy ban nhân dân tỉnh"  # as written
    assert all(unicodedata.is_normalized("NFC", s) for s in df["raw_name"])


def test_same_commune_name_in_two_districts_is_told_apart_by_district(tmp_path, cfg, reg):
    head, merges, _ = header(cfg, "commune", 1, district=True)
    rows = [
        *head,
        data_row(cfg, "commune", 1, "Vạn Thắng", 88.0, "Tốt", "Huyện Vạn Ninh"),
        data_row(cfg, "commune", 2, "Vạn Thắng", 77.0, "Khá", "THÀNH PHỐ NHA TRANG"),
    ]
    df = parse_file(write_xlsx(tmp_path / "c.xlsx", rows, merges, "PL2"), cfg, reg, "commune")
    assert df["unit_id"].tolist() == ["c-22516", "c-22345"]
    assert df["district"].tolist() == ["Huyện Vạn Ninh", "Thành phố Nha Trang"]
    assert list(df.columns) == unit_columns(cfg, "commune")


def test_satisfaction_table(tmp_path, cfg, reg):
    rows = [
        ["UBND TỈNH KHÁNH HÒA"],
        [f"KẾT QUẢ ĐO LƯỜNG SỰ HÀI LÒNG NĂM {YEAR}"],
        [],
        ["STT", "Tên cơ quan, đơn vị", "Số phiếu khảo sát", "Chỉ số hài lòng (%)"],
        [1, "Sở Tư pháp", 300, "84,10%"],
        [2, "Sở Nội vụ", "250", 81.44],
        [None, "Chỉ số hài lòng chung khối cơ quan Sở", None, 82.77],
    ]
    df = parse_satisfaction_table(
        read_grid(write_xlsx(tmp_path / "s.xlsx", rows, sheet="SIPAS")), cfg, reg, YEAR
    )
    assert df["unit_id"].tolist() == ["p-so-tu-phap", "p-so-noi-vu"]
    assert df["satisfaction_pct"].tolist() == [84.10, 81.44]
    assert df["respondents"].tolist() == [300, 250]
    assert set(df["target_pct"]) == {83.0}  # from config targets 2022


def test_clean_year_writes_every_table_and_reads_back(project, cfg, reg):
    rows, merges = provincial_book(cfg, full_roster(cfg, reg))
    for old in raw_dir(project).glob("provincial.*"):
        old.unlink()
    write_xlsx(raw_dir(project) / "provincial.xlsx", rows, merges)
    result = clean_year(YEAR, project)
    assert set(result.inputs) == {"provincial", "commune", "satisfaction", "national_indices"}
    assert result.inputs["provincial"] == "data/raw/khanh_hoa/2022/provincial.xlsx"
    back = read_processed(project, YEAR, "provincial")
    assert back["unit_id"].tolist()[:3] == ["p-so-tu-phap", "p-so-noi-vu", "p-cong-an"]
    assert back["score"].tolist()[:3] == [91.25, 84.99, 85.0]
    assert len(back) == len(reg.roster(YEAR, "provincial")) == 43
    assert sorted(p.name for p in project.processed_year(YEAR).iterdir()) == [
        "commune.csv",
        "national_indices.csv",
        "provincial.csv",
        "satisfaction.csv",
    ]
    assert [p.name for p in project.processed.iterdir()] == ["2022"]  # no staging left over
    nat = read_processed(project, YEAR, "national_indices")
    assert len(nat) and nat["year"].max() <= YEAR


def test_cleaning_the_same_raw_data_again_keeps_the_tables_and_their_mtimes(project):
    """The build knows its outputs by size and mtime: a preview (or a --force build)
    cleaning the same raw file again must not make the next build re-check the year."""
    clean_year(YEAR, project)
    folder = project.processed_year(YEAR)
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    ino = folder.stat().st_ino
    time.sleep(0.01)
    clean_year(YEAR, project)
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == before
    assert folder.stat().st_ino == ino
    # other tables: the folder is swapped in whole, as before
    tables = {n: read_processed(project, YEAR, n) for n in ("provincial", "commune")}
    first = tables["provincial"].loc[0, "score"]
    tables["provincial"].loc[0, "score"] -= 1
    write_processed(project, YEAR, tables)
    assert folder.stat().st_ino != ino
    assert sorted(p.name for p in folder.iterdir()) == ["commune.csv", "provincial.csv"]
    assert read_processed(project, YEAR, "provincial")["score"].iloc[0] == first - 1
    assert [p.name for p in project.processed.iterdir()] == [str(YEAR)]


def test_title_naming_the_year_and_a_comparison_year_is_accepted(tmp_path, cfg, reg):
    rows, merges = provincial_book(cfg, UNITS)
    rows[4] = [f"KẾT QUẢ CHỈ SỐ CCHC NĂM {YEAR} (so với năm {YEAR - 1})"]
    assert len(parse_file(write_xlsx(tmp_path / "p.xlsx", rows, merges), cfg, reg)) == 3


# --------------------------------------------------------------------------------------
# errors: each names file, sheet, row, column, found and expected; nothing is written
def put_provincial(paths, rows, merges=(), name="provincial.xlsx", sheet="PL1") -> str:
    for old in raw_dir(paths).glob("provincial.*"):
        old.unlink()
    path = raw_dir(paths) / name
    if name.endswith(".csv"):
        write_csv(path, rows)
    else:
        write_xlsx(path, rows, merges, sheet)
    return f"data/raw/khanh_hoa/{YEAR}/{name}"


def clean_fails(paths) -> InputError:
    with pytest.raises(InputError) as info:
        clean_year(YEAR, paths)
    assert_nothing_written(paths)
    return info.value


def test_error_missing_file(project):
    (raw_dir(project) / "commune.xlsx").unlink()
    exc = clean_fails(project)
    check_error(
        exc,
        file=f"data/raw/khanh_hoa/{YEAR}/commune.xlsx",
        problem="file not found",
        expected="commune.xlsx or commune.csv",
    )


def test_error_missing_year_folder(project):
    with pytest.raises(InputError) as info:
        clean_year(2030, project)
    check_error(
        info.value,
        file="data/raw/khanh_hoa/2030",
        problem="no raw data folder",
        expected="data/raw/khanh_hoa/2030/",
    )
    assert_nothing_written(project)


def test_error_missing_column(project, cfg):
    rows, merges = provincial_book(cfg, UNITS, drop="Chỉ số CCHC (%)")
    file = put_provincial(project, rows, merges)
    exc = clean_fails(project)
    check_error(
        exc,
        file=file,
        problem="missing column",
        sheet="PL1",
        row=7,
        column="Chỉ số CCHC (%)",
        found="Xếp loại",
        expected="'Chỉ số CCHC (%)'",
    )
    heads = exc.expected.removeprefix("a column headed ").split(" / ")
    assert len(heads) == len({h.casefold() for h in heads}), exc.expected  # each heading once


def test_a_missing_area_column_names_each_heading_once(project, cfg):
    rows, merges = provincial_book(cfg, UNITS)
    for row in rows[:12]:  # the header rows: the area's heading mistyped
        row[:] = ["Cải cách thể chếX" if c == "Cải cách thể chế" else c for c in row]
    put_provincial(project, rows, merges)
    exc = clean_fails(project)
    assert exc.problem == "missing column" and exc.column == "Cải cách thể chế"
    heads = exc.expected.removeprefix("a column headed ").split(" / ")
    assert "'Cải cách thể chế'" in heads and len(heads) == len(set(heads)), exc.expected
    heads_vi = exc.expected_vi.removeprefix("một cột có tiêu đề ").split(" / ")
    assert heads_vi == heads, exc.expected_vi  # the Vietnamese line names each once too


def test_error_score_not_a_number(project, cfg):
    rows, merges = provincial_book(cfg, UNITS)
    rows[9][-2] = "85,3x"  # Sở Tư pháp's index
    file = put_provincial(project, rows, merges)
    exc = clean_fails(project)
    check_error(
        exc,
        file=file,
        problem="not a number",
        sheet="PL1",
        row=10,
        column="Chỉ số CCHC (%)",
        found="85,3x",
        expected="a score in % such as 85,32",
    )


def test_error_area_not_a_number_in_csv(project, cfg):
    head, _, _ = header(cfg, "provincial", 2, two_row=False)
    rows = [[f"NĂM {YEAR}"], *head, data_row(cfg, "provincial", 1, "Sở Tư pháp", 90.0, "Tốt")]
    rows[2][3] = "n/a"  # second area column
    file = put_provincial(project, rows, name="provincial.csv")
    exc = clean_fails(project)
    check_error(
        exc,
        file=file,
        problem="not a number",
        row=3,
        column="Cải cách thể chế",
        found="n/a",
        expected="points for this area (0 to 10)",
    )
    assert exc.sheet is None  # a CSV file has no sheets


def test_error_missing_score(project, cfg):
    rows, merges = provincial_book(cfg, UNITS)
    rows[10][-2] = None
    file = put_provincial(project, rows, merges)
    check_error(
        clean_fails(project),
        file=file,
        problem="missing value",
        sheet="PL1",
        row=11,
        column="Chỉ số CCHC (%)",
        found="",
        expected="a score in %",
    )


def test_error_duplicate_unit(project, cfg):
    units = [*UNITS, (unicodedata.normalize("NFD", "SỞ TƯ PHÁP "), 70.0, "Khá")]
    rows, merges = provincial_book(cfg, units)
    file = put_provincial(project, rows, merges)
    exc = clean_fails(project)
    check_error(
        exc,
        file=file,
        problem="duplicate unit",
        sheet="PL1",
        row=13,
        column="Tên cơ quan, đơn vị",
        found="SỞ TƯ PHÁP",
        expected="already at row 10",
    )


def test_error_unknown_unit(project, cfg):
    units = [*UNITS, ("Sở Tư phap tỉnh", 70.0, "Khá")]
    rows, merges = provincial_book(cfg, units)
    file = put_provincial(project, rows, merges)
    exc = clean_fails(project)
    check_error(
        exc,
        file=file,
        problem="unknown unit",
        sheet="PL1",
        row=13,
        column="Tên cơ quan, đơn vị",
        found="Sở Tư phap tỉnh",
        expected="a provincial unit of config/khanh_hoa/units.csv valid in 2022",
    )
    assert "Sở Tư pháp" in str(exc.expected)  # close matches help the user


def test_error_unit_not_valid_that_year(project, cfg):
    """A unit merged away in 2022 is unknown in 2022 (no guessing its successor)."""
    rows, merges = provincial_book(
        cfg, [*UNITS, ("Ban QLDA ĐTXD các công trình giao thông", 80.0, "Khá")]
    )
    file = put_provincial(project, rows, merges)
    check_error(
        clean_fails(project),
        file=file,
        problem="unknown unit",
        row=13,
        found="Ban QLDA ĐTXD các công trình giao thông",
        expected="valid in 2022",
    )


def test_error_ambiguous_name(project, cfg):
    """Without a district column, 'Vạn Thắng' matches a ward of Nha Trang and a commune of Vạn Ninh."""
    head, merges, _ = header(cfg, "commune", 1)
    rows = [*head, data_row(cfg, "commune", 1, "Vạn Thắng", 88.0, "Tốt")]
    (raw_dir(project) / "commune.xlsx").unlink()
    write_xlsx(raw_dir(project) / "commune.xlsx", rows, merges, "PL2")
    exc = clean_fails(project)
    check_error(
        exc,
        file=f"data/raw/khanh_hoa/{YEAR}/commune.xlsx",
        problem="ambiguous",
        sheet="PL2",
        row=3,
        column="Tên xã, phường, thị trấn",
        found="Vạn Thắng",
        expected="c-22345 (Phường Vạn Thắng)",
    )
    assert "c-22516 (Xã Vạn Thắng)" in str(exc.expected)


def test_error_unknown_tier(project, cfg):
    rows, merges = provincial_book(cfg, [("Sở Tư pháp", 99.0, "Xuất sắc")])
    file = put_provincial(project, rows, merges)
    check_error(
        clean_fails(project),
        file=file,
        problem="unknown tier",
        sheet="PL1",
        row=10,
        column="Xếp loại",
        found="Xuất sắc",
        expected="one of Tốt / Khá / Trung bình / Yếu",
    )


def test_error_wrong_year(project, cfg):
    rows, merges = provincial_book(cfg, UNITS, year=YEAR - 1)
    file = put_provincial(project, rows, merges)
    check_error(
        clean_fails(project),
        file=file,
        problem="another year",
        sheet="PL1",
        row=5,
        column="A",
        found=f"NĂM {YEAR - 1}",
        expected=f"the year {YEAR}",
    )


def test_error_empty_sheet(project):
    file = put_provincial(project, [[None], [""]], sheet="PL1")
    check_error(
        clean_fails(project),
        file=file,
        problem="the sheet is empty",
        sheet="PL1",
        expected="a table of units",
    )


def test_error_no_data_rows(project, cfg):
    rows, merges = provincial_book(cfg, [])
    file = put_provincial(project, rows, merges)
    check_error(
        clean_fails(project),
        file=file,
        problem="no data rows",
        sheet="PL1",
        row=8,
        expected="one row per unit",
    )


def test_error_no_header_row(project):
    file = put_provincial(project, [["BÁO CÁO"], ["Một", "Hai"], [1, 2]])
    exc = clean_fails(project)
    check_error(
        exc,
        file=file,
        problem="no header row",
        sheet="PL1",
        row=1,
        column="A",
        found="BÁO CÁO",
        expected="'Tên cơ quan, đơn vị'",
    )
    assert "Một" not in str(exc) and "Hai" not in str(exc)  # one cell value, no more


@pytest.mark.parametrize(
    "content,found",
    [
        (
            b"STT,T\xc3\xaan c\xc6\xa1 quan\n1,S\xe1\xbb\x9f N\xe1\xbb\x99i v\xe1\xbb\xa5\n",
            "plain text (CSV-like",
        ),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "a PDF document"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64), "old Excel 97-2003 (.xls)"),
        (b"", "an empty file"),
    ],
    ids=["text", "pdf", "xls", "empty"],
)
def test_error_file_is_not_excel(project, content, found):
    for old in raw_dir(project).glob("provincial.*"):
        old.unlink()
    (raw_dir(project) / "provincial.xlsx").write_bytes(content)
    exc = clean_fails(project)
    check_error(
        exc,
        file=f"data/raw/khanh_hoa/{YEAR}/provincial.xlsx",
        problem="not an Excel workbook",
        found=found,
        expected="an .xlsx file",
    )
    assert "STT" not in str(exc) and "Tên" not in str(exc)  # the content is never quoted


def test_error_csv_that_is_really_a_workbook(project, cfg):
    rows, merges = provincial_book(cfg, UNITS)
    put_provincial(project, rows, merges)
    (raw_dir(project) / "provincial.xlsx").rename(raw_dir(project) / "provincial.csv")
    check_error(
        clean_fails(project),
        file=f"data/raw/khanh_hoa/{YEAR}/provincial.csv",
        problem="really an Excel workbook",
        expected="rename it to .xlsx",
    )


def test_error_unsupported_file_type(project):
    for old in raw_dir(project).glob("provincial.*"):
        old.unlink()
    (raw_dir(project) / "provincial.xls").write_bytes(b"\xd0\xcf\x11\xe0" + bytes(60))
    check_error(
        clean_fails(project),
        file=f"data/raw/khanh_hoa/{YEAR}/provincial.xls",
        problem="unsupported file type",
        found="provincial.xls",
        expected="provincial.xlsx or provincial.csv",
    )


def test_error_two_files_for_one_table(project, cfg):
    head, _, _ = header(cfg, "provincial", 1, two_row=False)
    write_csv(raw_dir(project) / "provincial.csv", [*head])
    check_error(
        clean_fails(project),
        file=f"data/raw/khanh_hoa/{YEAR}",
        problem="two files",
        found="provincial.csv",
        expected="exactly one provincial.xlsx or provincial.csv",
    )


def test_failure_keeps_the_previous_processed_tables(project, cfg, reg):
    """All or nothing: an error in the second table leaves last run's output as it was."""
    clean_year(YEAR, project)
    before = {p.name: p.read_bytes() for p in project.processed_year(YEAR).iterdir()}
    (raw_dir(project) / "commune.xlsx").write_bytes(b"not a workbook")
    rows, merges = provincial_book(cfg, full_roster(cfg, reg))  # a table that parses fine
    put_provincial(project, rows, merges)
    with pytest.raises(InputError, match="commune.xlsx"):
        clean_year(YEAR, project)
    after = {p.name: p.read_bytes() for p in project.processed_year(YEAR).iterdir()}
    assert after == before
    assert [p.name for p in project.processed.iterdir()] == [str(YEAR)]  # no staging folder left


def test_write_false_writes_nothing(project):
    result = clean_year(YEAR, project, write=False)
    assert len(result.tables["provincial"]) == 43
    assert_nothing_written(project)


def test_satisfaction_errors_name_the_cell(project):
    path = raw_dir(project) / "satisfaction.xlsx"
    base = [
        [f"KẾT QUẢ ĐO LƯỜNG SỰ HÀI LÒNG NĂM {YEAR}"],
        [],
        ["STT", "Tên cơ quan, đơn vị", "Số phiếu khảo sát", "Chỉ số hài lòng (%)"],
        [1, "Sở Tư pháp", 300, "84,10%"],
    ]
    write_xlsx(path, [*base, [2, "Sở Nội vụ", 250, "tám mươi"]], sheet="SIPAS")
    check_error(
        clean_fails(project),
        file=f"data/raw/khanh_hoa/{YEAR}/satisfaction.xlsx",
        problem="not a number",
        sheet="SIPAS",
        row=5,
        column="Chỉ số hài lòng (%)",
        found="tám mươi",
        expected="a satisfaction index in %",
    )
    write_xlsx(path, [*base, [2, "SỞ TƯ PHÁP", 250, 80.0]], sheet="SIPAS")
    check_error(
        clean_fails(project),
        file=f"data/raw/khanh_hoa/{YEAR}/satisfaction.xlsx",
        problem="duplicate unit",
        sheet="SIPAS",
        row=5,
        column="Tên cơ quan, đơn vị",
        found="SỞ TƯ PHÁP",
        expected="already at row 4",
    )
    write_xlsx(path, [*base, [2, "Sở Không Có", 250, 80.0]], sheet="SIPAS")
    check_error(
        clean_fails(project),
        file=f"data/raw/khanh_hoa/{YEAR}/satisfaction.xlsx",
        problem="unknown unit",
        sheet="SIPAS",
        row=5,
        found="Sở Không Có",
        expected="valid in 2022",
    )


def test_error_dict_for_logs_and_reports(project):
    (raw_dir(project) / "commune.xlsx").unlink()
    d = clean_fails(project).to_dict()
    assert (
        d["file"] == f"data/raw/khanh_hoa/{YEAR}/commune.xlsx" and d["problem"] == "file not found"
    )
    assert d["sheet"] is None and d["row"] is None and "commune.csv" in d["expected"]


def test_numbered_empty_rows_are_blank_and_short_csv_rows_are_safe(tmp_path, cfg, reg):
    head, _, _ = header(cfg, "provincial", 1, two_row=False)
    rows = [*head, data_row(cfg, "provincial", 1, "Sở Tư pháp", 90.0, "Tốt"), ["2"], ["3", ""]]
    df = parse_file(write_csv(tmp_path / "p.csv", rows), cfg, reg)
    assert df["unit_id"].tolist() == ["p-so-tu-phap"]
    sat = [
        ["STT", "Tên cơ quan, đơn vị", "Chỉ số hài lòng (%)"],
        ["1", "Sở Tư pháp", "84,1"],
        ["2"],
        ["3", "", "80"],
    ]
    with pytest.raises(InputError, match="missing unit name") as info:
        parse_satisfaction_table(read_grid(write_csv(tmp_path / "s.csv", sat)), cfg, reg, YEAR)
    assert info.value.row == 4 and info.value.column == "Tên cơ quan, đơn vị"


def test_missing_unit_name_with_values(tmp_path, cfg, reg):
    head, _, _ = header(cfg, "provincial", 1, two_row=False)
    rows = [*head, data_row(cfg, "provincial", 7, "", 90.0, "Tốt")]
    with pytest.raises(InputError, match="missing unit name") as info:
        parse_file(write_csv(tmp_path / "p.csv", rows), cfg, reg)
    assert (info.value.row, info.value.column, info.value.expected) == (
        2,
        "Tên cơ quan, đơn vị",
        "the unit's name",
    )


@pytest.mark.parametrize(
    "numbering",
    [
        lambda n: ["A", "B"] + [str(k) for k in range(1, n - 1)],
        lambda n: [f"({k})" for k in range(1, n + 1)],
        lambda n: [str(k) for k in range(1, n + 1)],
    ],
    ids=["letters", "parentheses", "digits"],
)
def test_column_numbering_row_below_the_header_is_skipped(tmp_path, cfg, reg, numbering):
    """Official tables often number their columns in the row under the header."""
    rows, merges = provincial_book(cfg, UNITS)
    n = len(rows[7])
    rows.insert(8, numbering(n))  # right under the two header rows (Excel rows 7-8)
    df = parse_file(write_xlsx(tmp_path / "p.xlsx", rows, merges), cfg, reg)
    assert df["unit_id"].tolist() == ["p-so-tu-phap", "p-so-noi-vu", "p-cong-an"]
    assert df["source_row"].tolist() == [11, 12, 13]


# --------------------------------------------------------------------------------------
# issue 14: bad input is caught where it is, with its cell; nothing is written, the
# previous tables stay as they were
def processed_bytes(paths) -> dict[str, bytes]:
    if not paths.processed.exists():
        return {}
    return {
        str(p.relative_to(paths.processed)): p.read_bytes()
        for p in sorted(paths.processed.rglob("*"))
        if p.is_file()
    }


def rejected(paths, year=YEAR) -> InputError:
    """Clean fails, and data/processed holds exactly what it held before."""
    before = processed_bytes(paths)
    with pytest.raises(InputError) as info:
        clean_year(year, paths)
    assert processed_bytes(paths) == before, "data/processed changed on a rejected input"
    return info.value


def edit_demo(paths, stem: str, unit: str, column: str, value, year=YEAR) -> tuple[str, int]:
    """Change one cell of a demo workbook: the row of `unit`, the column headed `column`.
    Returns the file (as messages name it) and the Excel row."""
    path = raw_dir(paths, year) / f"{stem}.xlsx"
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    col = row = None
    for r in ws.iter_rows():
        for c in r:
            if isinstance(c.value, str) and c.value.strip() == column and col is None:
                col = c.column
            if isinstance(c.value, str) and " ".join(c.value.split()) == unit and row is None:
                row = c.row
    assert col and row, (column, unit)
    ws.cell(row=row, column=col).value = value
    wb.save(path)
    return f"data/raw/khanh_hoa/{year}/{stem}.xlsx", row


@pytest.fixture
def cleaned(project):
    """The demo project with 2022 cleaned once (the tables a rejection must not touch)."""
    clean_year(YEAR, project)
    assert processed_bytes(project)
    return project


SCORE, POINTS = "Chỉ số CCHC (%)", "Tổng điểm"


@pytest.mark.parametrize(
    "column,value,problem,expected,vi",
    [
        (SCORE, 105.0, "score above 100", "0 to 100", "chỉ số lớn hơn 100"),
        (SCORE, -1.0, "score below 0", "0 to 100", "nhỏ hơn 0"),
        # the appendix's "Tổng điểm" was never read: 120 out of 100 was published with exit
        # 0 (an operator review); it is held to 0..100 and to the sum of the area points
        (POINTS, 120, "total points above 100", "total points (0 to 100)", "lớn hơn 100"),
        (
            POINTS,
            97.32,
            "the total points are not the sum of the area points",
            "the sum of the area points, 96.32 (within ±0.01)",
            "tổng điểm các lĩnh vực, 96,32 (sai số ±0,01)",
        ),
    ],
)
def test_error_score_or_total_points_out_of_range(cleaned, column, value, problem, expected, vi):
    file, row = edit_demo(cleaned, "provincial", "Sở Tư pháp", column, value)
    exc = rejected(cleaned)
    check_error(
        exc,
        file=file,
        problem=problem,
        sheet="PL1",
        row=row,
        column=column,
        found=f"{value:g}",
        found_vi=f"'{value:g}'".replace(".", ","),  # the Vietnamese line: comma decimals
        expected=expected,
    )
    assert vi in str(exc).splitlines()[0]


def test_error_area_above_its_maximum(cleaned):
    file, row = edit_demo(cleaned, "commune", "Xã Sơn Bình", "Cải cách tổ chức bộ máy", 10.5)
    exc = rejected(cleaned)
    check_error(
        exc,
        file=file,
        problem="points above 10",
        sheet="PL2",
        row=row,
        column="Cải cách tổ chức bộ máy",
        found="10.5",
        found_vi="'10,5'",
        expected="points for this area (0 to 10)",
    )
    assert "'10.5'" not in str(exc).splitlines()[0]  # the Vietnamese line writes 10,5
    assert "điểm của lĩnh vực này (từ 0 đến 10)" in str(exc)


def test_error_satisfaction_above_100(cleaned):
    file, row = edit_demo(cleaned, "satisfaction", "Sở Y tế", "Chỉ số hài lòng (%)", "100,5%")
    exc = rejected(cleaned)
    check_error(
        exc,
        file=file,
        problem="satisfaction index above 100",
        sheet="SIPAS",
        row=row,
        column="Chỉ số hài lòng (%)",
        found="100,5%",
        expected="0 to 100",
    )
    assert "chỉ số hài lòng lớn hơn 100" in str(exc)


@pytest.mark.parametrize("cell", ["1.085,5", "1,085.5", "1 085,5"])
def test_error_thousands_separator_in_a_percentage(cleaned, cell):
    file, row = edit_demo(cleaned, "provincial", "Sở Tư pháp", "Chỉ số CCHC (%)", cell)
    exc = rejected(cleaned)
    check_error(
        exc,
        file=file,
        problem="thousands separator",
        sheet="PL1",
        row=row,
        column="Chỉ số CCHC (%)",
        found=cell,
        expected="a score in %",
    )
    assert "dấu phân cách hàng nghìn" in str(exc)


def test_error_tier_contradicts_the_band(cleaned):
    """A score of 95 labelled Khá (the 2022 bands: Tốt from 85)."""
    file, row = edit_demo(cleaned, "commune", "Xã Sơn Bình", "Chỉ số CCHC (%)", 95)
    exc = rejected(cleaned)
    check_error(
        exc,
        file=file,
        problem="the tier contradicts the score band",
        sheet="PL2",
        row=row,
        column="Xếp loại",
        found="Khá",
        expected="Tốt (score ≥ 85",
    )
    assert "a score of 95 is Tốt in 2022" in exc.problem
    assert "chỉ số 95 là Tốt năm 2022" in str(exc)


def test_error_district_contradicts_the_registry(cleaned):
    """Xã Sơn Bình is in Huyện Khánh Sơn; the file lists it under Huyện Cam Lâm."""
    file, row = edit_demo(
        cleaned, "commune", "Xã Sơn Bình", "Huyện, thị xã, thành phố", "Huyện Cam Lâm"
    )
    exc = rejected(cleaned)
    check_error(
        exc,
        file=file,
        problem="the district contradicts the unit registry",
        sheet="PL2",
        row=row,
        column="Huyện, thị xã, thành phố",
        found="Huyện Cam Lâm",
        expected="Huyện Khánh Sơn",
    )
    assert "huyện không khớp với danh mục" in str(exc)


def test_district_written_without_its_kind_is_the_same_district(project, cfg, reg):
    head, merges, _ = header(cfg, "commune", 1, district=True)
    rows = [*head, data_row(cfg, "commune", 1, "Xã Sơn Bình", 84.36, "Khá", "KHÁNH SƠN")]
    df = parse_file(write_xlsx(project.root / "c.xlsx", rows, merges, "PL2"), cfg, reg, "commune")
    assert df["district"].tolist() == ["Huyện Khánh Sơn"]


def test_error_one_unit_where_the_registry_expects_43(cleaned, cfg):
    rows, merges = provincial_book(cfg, [("Sở Tư pháp", 91.25, "Tốt")])
    file = put_provincial(cleaned, rows, merges)
    exc = rejected(cleaned)
    check_error(
        exc,
        file=file,
        problem="the table has 1 unit; the registry lists 43 provincial units for 2022",
        sheet="PL1",
        row=8,
        found="1 unit",
        found_vi="'1 đơn vị'",
        expected="43 units",
    )
    assert "bảng có 1 đơn vị; danh mục có 43 cơ quan, đơn vị cấp tỉnh năm 2022" in str(exc)
    assert "unit'" not in str(exc).splitlines()[0]  # the Vietnamese line is all Vietnamese
    assert "Thanh tra tỉnh" in exc.problem  # names missing units (from the registry)


def test_formula_without_a_saved_value_says_it_is_a_formula(cleaned, cfg):
    rows, merges = provincial_book(cfg, UNITS)
    n_areas = len(cfg.areas("provincial"))
    L = openpyxl.utils.get_column_letter
    rows[9][-2] = f"=SUM({L(3)}10:{L(2 + n_areas)}10)"  # Sở Tư pháp's index, never calculated
    file = put_provincial(cleaned, rows, merges)
    exc = rejected(cleaned)
    check_error(
        exc,
        file=file,
        problem="a formula with no saved value",
        sheet="PL1",
        row=10,
        column="Chỉ số CCHC (%)",
        found="=SUM(C10:J10)",
        expected="save it",
    )
    assert "công thức" in str(exc)


def test_data_sheet_after_a_cover_sheet_is_found_by_its_header(tmp_path, cfg, reg):
    rows, merges = provincial_book(cfg, UNITS)
    wb = openpyxl.Workbook()
    wb.active.title = "Ghi chú"
    wb.active.append(["Bảng này gửi kèm công văn số 12/SNV"])
    ws = wb.create_sheet("PL1")
    for r in rows:
        ws.append(list(r))
    for m in merges:
        ws.merge_cells(m)
    wb.save(tmp_path / "p.xlsx")
    grid = read_grid(
        tmp_path / "p.xlsx", find=lambda rs: any(c == "Tên cơ quan, đơn vị" for r in rs for c in r)
    )
    assert grid.sheet == "PL1"
    from par_review.clean.tables import header_test

    grid = read_grid(tmp_path / "p.xlsx", find=header_test(cfg))
    df = parse_unit_table(grid, cfg, reg, "provincial", YEAR)
    assert df["unit_id"].tolist() == ["p-so-tu-phap", "p-so-noi-vu", "p-cong-an"]
    assert read_grid(tmp_path / "p.xlsx").sheet == "Ghi chú"  # without `find`: the first


def test_no_data_sheet_names_the_sheet_that_was_read(project):
    path = raw_dir(project) / "provincial.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "Bìa"
    wb.active.append(["BÁO CÁO"])
    wb.create_sheet("Khác").append(["Một", "Hai"])
    wb.save(path)
    exc = clean_fails(project)
    check_error(
        exc,
        file=f"data/raw/khanh_hoa/{YEAR}/provincial.xlsx",
        problem="no header row",
        sheet="Bìa",
        row=1,
    )


@pytest.mark.parametrize("sep", ["\t", ","])
def test_utf16_csv_from_excel_unicode_text_is_read(project, sep):
    """Excel's "Unicode Text" is UTF-16 with a byte-order mark, tab-separated."""
    clean_year(2018, project)
    expected = read_processed(project, 2018, "provincial")
    src = raw_dir(project, 2018) / "provincial.csv"
    rows = list(csv.reader(src.read_text(encoding="utf-8-sig").splitlines()))
    buf = "\r\n".join(sep.join(f'"{c}"' if sep in c else c for c in r) for r in rows) + "\r\n"
    src.write_bytes(buf.encode("utf-16"))  # BOM + UTF-16-LE
    assert src.read_bytes()[:2] == b"\xff\xfe"
    clean_year(2018, project)
    got = read_processed(project, 2018, "provincial")
    pd_cols = ["unit_id", "score", "tier", "source_row"]
    assert got[pd_cols].equals(expected[pd_cols])


def test_utf16_without_a_bom_is_read(tmp_path):
    p = tmp_path / "a.csv"
    p.write_bytes("STT\tTên đơn vị\tChỉ số\n1\tSở Tư pháp\t85,32\n".encode("utf-16-le"))
    assert read_grid(p).rows[1] == ["1", "Sở Tư pháp", "85,32"]


# -- security: links out of the project, absolute paths, file contents -------------------
SECRET = "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"


@pytest.mark.parametrize("name", ["provincial.csv", "provincial.xlsx"])
def test_raw_file_linking_outside_the_project_is_refused(cleaned, tmp_path, name):
    secret = tmp_path / "outside" / "passwd"
    secret.parent.mkdir()
    secret.write_text(SECRET, encoding="utf-8")
    for old in raw_dir(cleaned).glob("provincial.*"):
        old.unlink()
    (raw_dir(cleaned) / name).symlink_to(secret)
    exc = rejected(cleaned)
    check_error(
        exc,
        file=f"data/raw/khanh_hoa/{YEAR}/{name}",
        problem="a link that leads outside the project",
        expected="copy it",
    )
    text = str(exc) + repr(exc.to_dict())
    assert "root" not in text and "passwd" not in text and str(tmp_path) not in text


def test_year_folder_linking_outside_the_project_is_refused(project, tmp_path):
    outside = tmp_path / "elsewhere" / str(YEAR)
    outside.parent.mkdir()
    raw_dir(project).rename(outside)
    raw_dir(project).symlink_to(outside, target_is_directory=True)
    exc = rejected(project)
    assert "outside the project" in exc.problem and str(tmp_path) not in str(exc)
    assert str(exc.file).startswith(f"data/raw/khanh_hoa/{YEAR}/")


def test_national_table_linking_outside_the_project_is_refused(project, tmp_path):
    secret = tmp_path / "passwd.csv"
    secret.write_text(SECRET, encoding="utf-8")
    project.national_raw.unlink()
    project.national_raw.symlink_to(secret)
    exc = rejected(project)
    assert exc.file == "data/raw/khanh_hoa/national/national_indices.csv"
    assert "root" not in str(exc) and str(tmp_path) not in str(exc)


def test_a_link_inside_the_project_is_read(project):
    inbox = project.root / "inbox"
    inbox.mkdir()
    src = raw_dir(project) / "provincial.xlsx"
    src.rename(inbox / "provincial.xlsx")
    src.symlink_to(inbox / "provincial.xlsx")
    result = clean_year(YEAR, project)
    assert len(result.tables["provincial"]) == 43
    assert result.inputs["provincial"] == f"data/raw/khanh_hoa/{YEAR}/provincial.xlsx"


def test_messages_never_hold_an_absolute_path(tmp_path):
    with pytest.raises(InputError) as info:
        read_grid(tmp_path / "missing.xlsx")
    assert str(info.value.file) == "missing.xlsx" and str(tmp_path) not in str(info.value)
    exc = InputError(tmp_path / "x" / "a.csv", "not a number", row=3)
    assert str(tmp_path) not in str(exc) and exc.file == "a.csv"
    (tmp_path / "nul.csv").write_bytes(SECRET.encode() + b"\x00")
    with pytest.raises(InputError, match="not a text") as info:
        read_grid(tmp_path / "nul.csv")
    assert "root" not in str(info.value) and str(tmp_path) not in str(info.value)


def test_a_long_cell_is_cut_in_the_message(tmp_path, cfg, reg):
    head, _, _ = header(cfg, "provincial", 1, two_row=False)
    rows = [*head, data_row(cfg, "provincial", 1, "Sở Tư pháp", 90.0, "Tốt", score_cell="x" * 5000)]
    with pytest.raises(InputError, match="not a number") as info:
        parse_file(write_csv(tmp_path / "p.csv", rows), cfg, reg)
    assert len(str(info.value)) < 1000 and "…" in str(info.value)


# -- issue 12: levels are data; the tier column is optional when bands are configured ----
THREE_TIERS = [
    {"id": "tot", "label": {"vi": "Tốt", "en": "Good"}},
    {"id": "kha", "label": {"vi": "Khá", "en": "Fair"}},
    {"id": "kem", "label": {"vi": "Kém", "en": "Poor"}},
]


def one_level_province():
    return {
        "id": "tinh_mot_cap",
        "name": {"vi": "Tỉnh Một Cấp", "en": "One-Level Province"},
        "tiers": THREE_TIERS,
        "bands": {"default": {"tot": 80, "kha": 60, "kem": 0}},
        "levels": {"xa": {"label": {"vi": "cấp xã", "en": "communes"}, "input": "ket_qua_xa"}},
        "groups": {"xa": {"vi": "Xã", "en": "Communes"}},
        "areas": {
            "xa": [
                {
                    "id": "dich_vu",
                    "label": {"vi": "Dịch vụ công", "en": "Public services"},
                    "max": 60,
                },
                {
                    "id": "so_hoa",
                    "label": {"vi": "Chuyển đổi số", "en": "Digitalisation"},
                    "max": 40,
                },
            ]
        },
        "columns": {"stt": ["STT"], "unit_name": ["Đơn vị"], "score": ["Tổng điểm (%)"]},
        "total_row_labels": ["Cộng"],
    }


ONE_LEVEL_UNITS = [
    ["x-1", "xa", "xa", "", "", "Xã Bắc Sơn", "", "2020", "", "", "assumed", ""],
    ["x-2", "xa", "xa", "", "", "Xã Nam Hà", "", "2020", "", "", "assumed", ""],
    ["x-3", "xa", "xa", "", "", "Phường Đông Hải", "", "2020", "", "", "assumed", ""],
]


def write_province(root, data, units):
    d = root / "config" / data["id"]
    d.mkdir(parents=True, exist_ok=True)
    import yaml

    (d / "province.yml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    from par_review.rawdata.registry import COLUMNS

    with (d / "units.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        w.writerows(units)
    from par_review.paths import Paths

    return Paths.from_root(root, data["id"])


def one_level_raw(paths, year, rows):
    d = paths.raw_year(year)
    d.mkdir(parents=True, exist_ok=True)
    head = ["STT", "Đơn vị", "Dịch vụ công", "Chuyển đổi số", "Tổng điểm (%)"]
    write_csv(d / "ket_qua_xa.csv", [[f"KẾT QUẢ NĂM {year}"], head, *rows])


def test_one_level_three_tiers_no_tier_column_two_areas(tmp_path):
    paths = write_province(tmp_path, one_level_province(), ONE_LEVEL_UNITS)
    one_level_raw(
        paths,
        2024,
        [
            ["1", "Xã Bắc Sơn", "55,0", "35,5", "90,5"],
            ["2", "Xã Nam Hà", "40,0", "25,0", "65,0"],
            ["3", "PHƯỜNG ĐÔNG HẢI", "30,0", "12,0", "42,0"],
            ["", "Cộng", "", "", "65,83"],
        ],
    )
    result = clean_year(2024, paths)
    assert set(result.tables) == {"xa", "national_indices"} and result.levels == ["xa"]
    assert sorted(p.name for p in paths.processed_year(2024).iterdir()) == [
        "national_indices.csv",
        "xa.csv",
    ]
    df = read_processed(paths, 2024, "xa")
    assert list(df.columns) == [
        *["year", "level", "unit_id", "unit_name", "group", "district", "score"],
        *["area_dich_vu", "area_so_hoa", "tier", "raw_name", "source_file", "source_row"],
    ]
    assert df["unit_id"].tolist() == ["x-1", "x-2", "x-3"]
    assert df["tier"].tolist() == ["tot", "kha", "kem"]  # derived from the score's band
    assert df["area_so_hoa"].tolist() == [35.5, 25.0, 12.0]
    assert set(df["level"]) == {"xa"} and df["source_row"].tolist() == [3, 4, 5]


def test_a_province_that_requires_its_tier_column_rejects_a_file_without_it(tmp_path):
    """Khánh Hòa's files carry the tier the province decided: `required_columns: [tier]`
    makes a file without that column an error naming it, where a province without the key
    gets its tiers from the bands (above)."""
    data = one_level_province()
    data["columns"]["tier"] = ["Xếp loại"]
    data["required_columns"] = ["tier"]
    paths = write_province(tmp_path, data, ONE_LEVEL_UNITS)
    one_level_raw(paths, 2024, [["1", "Xã Bắc Sơn", "55,0", "35,5", "90,5"]])
    with pytest.raises(InputError) as info:
        clean_year(2024, paths)
    exc = info.value
    assert exc.problem == "missing column" and exc.column == "Xếp loại", str(exc)
    assert not paths.processed_year(2024).exists()


def test_one_level_province_checks_the_area_maximum_and_the_roster(tmp_path):
    paths = write_province(tmp_path, one_level_province(), ONE_LEVEL_UNITS)
    one_level_raw(paths, 2024, [["1", "Xã Bắc Sơn", "55,0", "45,0", "100"]])
    exc = rejected(paths, 2024)
    check_error(
        exc,
        file="data/raw/tinh_mot_cap/2024/ket_qua_xa.csv",
        problem="points above 40",
        row=3,
        column="Chuyển đổi số",
        found="45,0",
        expected="(0 to 40)",
    )
    one_level_raw(paths, 2024, [["1", "Xã Bắc Sơn", "55,0", "35,0", "90"]])
    exc = rejected(paths, 2024)
    assert "the registry lists 3 xa units for 2024" in exc.problem


def test_one_level_tier_column_where_present_is_checked(tmp_path):
    data = one_level_province()
    data["columns"]["tier"] = ["Xếp loại"]
    paths = write_province(tmp_path, data, ONE_LEVEL_UNITS[:1])
    d = paths.raw_year(2024)
    d.mkdir(parents=True)
    head = ["STT", "Đơn vị", "Dịch vụ công", "Chuyển đổi số", "Tổng điểm (%)", "Xếp loại"]
    write_csv(d / "ket_qua_xa.csv", [head, ["1", "Xã Bắc Sơn", "55", "35", "90", "Kém"]])
    check_error(
        rejected(paths, 2024),
        file="data/raw/tinh_mot_cap/2024/ket_qua_xa.csv",
        problem="the tier contradicts the score band",
        row=2,
        column="Xếp loại",
        found="Kém",
        expected="Tốt (score ≥ 80",
    )
    write_csv(d / "ket_qua_xa.csv", [head, ["1", "Xã Bắc Sơn", "55", "35", "90", "tốt"]])
    assert read_processed_after(paths, 2024)["tier"].tolist() == ["tot"]


def read_processed_after(paths, year):
    clean_year(year, paths)
    return read_processed(paths, year, next(iter(paths_levels(paths, year))))


def paths_levels(paths, year):
    from par_review.config import load_config

    return load_config(paths.province, paths).levels_for(year)
