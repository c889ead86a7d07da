"""`par-review audit` end to end: the notices in tests/fixtures/notices against the demo data
(cleaned in a temporary copy), through the real metrics and the CLI."""

from __future__ import annotations

import json
import shutil
import unicodedata
from pathlib import Path

import pytest

from par_review import cli
from par_review.audit import (
    NOT_CHECKED,
    OK,
    OK_TRUNCATED,
    WRONG,
    audit_file,
    format_json,
    format_text,
    load_facts,
)
from par_review.metrics.compute import compute_metrics

NOTICES = Path(__file__).parent / "fixtures" / "notices"
REAL = NOTICES / "notice_2023_par_review_khanhhoa.txt"


@pytest.fixture(scope="module")
def facts(demo_processed):
    return load_facts(2022, demo_processed)


@pytest.fixture(scope="module")
def metrics(demo_processed):
    return compute_metrics(2022, demo_processed)


def audit(name_or_path, paths, facts, **kw):
    path = name_or_path if isinstance(name_or_path, Path) else NOTICES / name_or_path
    return audit_file(path, 2022, paths, facts=facts, **kw)


def find(result, figure, claimed=None, tier=None, level=None):
    hits = [
        f
        for f in result.findings
        if f.figure == figure
        and (claimed is None or f.claimed == claimed)
        and (tier is None or f.tier == tier)
        and (level is None or f.level == level)
    ]
    assert len(hits) == 1, [(f.figure, f.claimed, f.tier, f.level) for f in result.findings]
    return hits[0]


def run_cli(paths, *args, capsys):
    rc = cli.main(["--root", str(paths.root), "audit", *map(str, args)])
    out = capsys.readouterr()
    return rc, out.out, out.err


# --------------------------------------------------------------------------- the real 2023 notice
def test_real_notice_done_when(demo_processed, facts, metrics):
    r = audit(REAL, demo_processed, facts)
    khas = find(r, "share", "31.24")
    # the computed share is 13/43 from the metrics, displayed half-up: 30,23
    kha = metrics["levels"]["provincial"]["tiers"]["kha"]
    assert (khas.verdict, khas.computed) == (WRONG, f"{kha['share_half_up']:.2f}")
    assert khas.computed == "30.23"
    assert "add up to 101%" in khas.note  # 69,76 + 31,24
    assert find(r, "share", "69.76").verdict == OK_TRUNCATED
    assert find(r, "share", "53.67").verdict == OK_TRUNCATED
    assert find(r, "share", "46.32").verdict == OK
    changes = [(f.tier, f.claimed, f.verdict) for f in r.findings if f.figure == "change"]
    assert changes == [("tot", "+3", OK), ("kha", "+2", OK), ("trung_binh", "-5", OK)]
    streak = find(r, "streak")
    assert (streak.level, streak.tier, streak.claimed, streak.verdict) == (
        "commune",
        "yeu",
        "3",
        OK,
    )
    first = find(r, "first_year")
    assert (first.level, first.tier, first.verdict) == ("provincial", "trung_binh+yeu", OK)
    assert (find(r, "satisfaction").claimed, find(r, "satisfaction").verdict) == ("82.77", OK)
    assert (find(r, "target").claimed, find(r, "target").verdict) == ("83", OK)
    # the only wrong figure is 31,24; nothing left unexplained
    assert [f.claimed for f in r.findings if f.verdict == WRONG] == ["31.24"]
    assert not [f for f in r.findings if f.verdict == NOT_CHECKED]
    # levels were read from the text: the provincial paragraph, then the communes'
    assert {f.level for f in r.findings if f.line == 13} == {"provincial"}
    assert {f.level for f in r.findings if f.line == 15} == {"commune"}


def test_real_notice_cli_exit_code_and_text(demo_processed, capsys):
    rc, out, err = run_cli(demo_processed, REAL, "--year", "2022", capsys=capsys)
    assert rc == 1
    lines = out.splitlines()
    wrong = [ln for ln in lines if ln.rstrip().split(" — ")[0].endswith("WRONG")]
    assert len(wrong) == 1 and "31,24%" in wrong[0] and "30,23%" in wrong[0]
    assert "“13 cơ quan, đơn vị xếp hạng Khá (chiếm tỷ lệ 31,24%)”" in out
    assert (
        lines[-1].startswith("Summary:")
        and "1 WRONG" in lines[-1]
        and "2 ok (truncated)" in lines[-1]
    )


def test_json_is_the_same_audit_and_deterministic(demo_processed, capsys):
    rc1, out1, _ = run_cli(
        demo_processed, REAL, "--year", "2022", "--format", "json", capsys=capsys
    )
    rc2, out2, _ = run_cli(
        demo_processed, REAL, "--year", "2022", "--format", "json", capsys=capsys
    )
    _, text, _ = run_cli(demo_processed, REAL, "--year", "2022", capsys=capsys)
    assert rc1 == rc2 == 1 and out1 == out2
    data = json.loads(out1)
    assert data["summary"]["wrong"] is True
    assert data["summary"]["figures"] == len(data["findings"])
    assert data["summary"][WRONG] == 1 and data["summary"][OK_TRUNCATED] == 2
    assert f"{data['summary']['figures']} figures" in text.splitlines()[-1]
    f = next(f for f in data["findings"] if f["claimed"] == "31.24")
    assert (f["verdict"], f["computed"], f["level"], f["tier"]) == (
        WRONG,
        "30.23",
        "provincial",
        "kha",
    )
    assert "31,24%" in f["fragment"]


def test_nfd_notice_gives_the_same_audit(demo_processed, facts, tmp_path):
    nfd = tmp_path / "nfd.txt"
    nfd.write_text(unicodedata.normalize("NFD", REAL.read_text(encoding="utf-8")), encoding="utf-8")
    assert REAL.read_text(encoding="utf-8") != nfd.read_text(encoding="utf-8")
    a, b = audit(REAL, demo_processed, facts), audit(nfd, demo_processed, facts)
    assert format_json(a).replace(str(REAL), "X") == format_json(b).replace(str(nfd), "X")


def test_docx_notice_gives_the_same_figures(demo_processed, facts, tmp_path):
    docx = pytest.importorskip("docx")
    doc = docx.Document()
    for para in REAL.read_text(encoding="utf-8").split("\n\n"):
        doc.add_paragraph(para.strip())
    path = tmp_path / "notice.docx"
    doc.save(str(path))
    got = [
        (f.figure, f.claimed, f.computed, f.verdict)
        for f in audit(path, demo_processed, facts).findings
    ]
    want = [
        (f.figure, f.claimed, f.computed, f.verdict)
        for f in audit(REAL, demo_processed, facts).findings
    ]
    assert got == want


def test_docx_tables_are_read(demo_processed, facts, tmp_path):
    docx = pytest.importorskip("docx")
    doc = docx.Document()
    doc.add_paragraph("Kết quả xếp hạng năm 2022:")
    table = doc.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "UBND cấp xã"
    table.cell(0, 1).text = "74/136 đơn vị xếp hạng Tốt"
    path = tmp_path / "table.docx"
    doc.save(str(path))
    r = audit(path, demo_processed, facts)
    assert (find(r, "count").level, find(r, "count").verdict) == ("commune", WRONG)


def test_truncate_rounding_option(demo_processed, facts, capsys):
    r = audit(REAL, demo_processed, facts, rounding="truncate")
    assert find(r, "share", "69.76").verdict == OK
    assert find(r, "share", "31.24").verdict == WRONG
    rc, out, _ = run_cli(
        demo_processed, REAL, "--year", "2022", "--rounding", "truncate", capsys=capsys
    )
    assert rc == 1 and "ok (truncated)" not in out


# --------------------------------------------------------------------------- our own notices
def test_correct_notice_is_all_ok(demo_processed, facts, capsys):
    r = audit("correct_2022.md", demo_processed, facts)
    assert r.findings and {f.verdict for f in r.findings} == {OK}
    kinds = {f.figure for f in r.findings}
    assert kinds >= {
        "count",
        "total",
        "share",
        "change",
        "streak",
        "first_year",
        "satisfaction",
        "target",
        "target_met",
        "gap",
        "change_pp",
    }
    assert find(r, "count", "15", level="group:so_ban_nganh").verdict == OK
    # the list items under "Đối với UBND cấp xã ... như sau:" are communes
    assert {f.level for f in r.findings if f.tier == "yeu"} == {"commune"}
    rc, _, _ = run_cli(demo_processed, NOTICES / "correct_2022.md", "--year", "2022", capsys=capsys)
    assert rc == 0


def test_wrong_notice_flags_each_wrong_figure(demo_processed, facts, metrics):
    r = audit("wrong_2022.txt", demo_processed, facts)
    prov, comm = metrics["levels"]["provincial"], metrics["levels"]["commune"]
    wrong = {
        (f.level, f.figure, f.tier, f.claimed): f.computed for f in r.findings if f.verdict == WRONG
    }
    assert wrong == {
        ("provincial", "count", "tot", "31"): str(prov["tiers"]["tot"]["count"]),
        ("provincial", "share", "tot", "72.09"): f"{prov['tiers']['tot']['share_half_up']:.2f}",
        ("provincial", "total", None, "44"): str(prov["total"]),
        ("provincial", "share", "kha", "29.55"): f"{prov['tiers']['kha']['share_half_up']:.2f}",
        ("provincial", "change", "kha", "+1"): f"{prov['tiers']['kha']['change_count']:+d}".replace(
            "+0", "0"
        ),
        ("provincial", "count", "trung_binh", "1"): str(prov["tiers"]["trung_binh"]["count"]),
        ("commune", "change", "tot", "+4"): f"{comm['tiers']['tot']['change_count']:+d}",
        ("commune", "share", "kha", "46.33"): f"{comm['tiers']['kha']['share_half_up']:.2f}",
        ("commune", "change", "kha", "-2"): f"{comm['tiers']['kha']['change_count']:+d}",
        ("commune", "streak", "yeu", "4"): str(comm["streaks"]["yeu"]["years_without"]),
        ("commune", "first_year", "yeu", "2022"): str(comm["streaks"]["yeu"]["since_year"]),
        ("satisfaction", "satisfaction", None, "83.77"): f"{metrics['satisfaction']['value']:.2f}",
        ("satisfaction", "target", None, "85"): f"{metrics['satisfaction']['target']:.0f}",
        ("satisfaction", "target_met", None, "met"): "not met",
    }
    # the right figures of the same notice stay ok
    assert find(r, "share", "53.67").verdict == OK_TRUNCATED
    assert find(r, "change", "-5").verdict == OK


def test_not_checked_notice_guesses_nothing(demo_processed, facts, capsys):
    r = audit("not_checked_2022.txt", demo_processed, facts)
    assert len(r.findings) >= 7
    assert {f.verdict for f in r.findings} == {NOT_CHECKED}
    assert all(f.note for f in r.findings)
    assert not r.has_wrong
    text = format_text(r)
    assert "98,5%" in text and "not a recognised statement" in text
    rc, _, _ = run_cli(
        demo_processed, NOTICES / "not_checked_2022.txt", "--year", "2022", capsys=capsys
    )
    assert rc == 0


# --------------------------------------------------------------------------- bad usage
def test_unreadable_inputs_exit_2(demo_processed, tmp_path, capsys):
    rc, _, err = run_cli(demo_processed, tmp_path / "missing.txt", "--year", "2022", capsys=capsys)
    assert rc == 2 and "missing.txt" in err
    latin = tmp_path / "latin.txt"
    latin.write_bytes("Kết quả".encode("cp1258", errors="replace") + b"\xff\xfe")
    rc, _, err = run_cli(demo_processed, latin, "--year", "2022", capsys=capsys)
    assert rc == 2 and "UTF-8" in err
    doc = tmp_path / "old.doc"
    doc.write_bytes(b"\xd0\xcf\x11\xe0")
    rc, _, err = run_cli(demo_processed, doc, "--year", "2022", capsys=capsys)
    assert rc == 2 and ".docx" in err
    fake = tmp_path / "fake.docx"
    fake.write_text("not a zip", encoding="utf-8")
    rc, _, err = run_cli(demo_processed, fake, "--year", "2022", capsys=capsys)
    assert rc == 2 and "fake.docx" in err
    rc, _, err = run_cli(demo_processed, REAL, "--year", "2031", capsys=capsys)
    assert rc == 2 and "2031" in err
    with pytest.raises(SystemExit) as exc:
        cli.main(["--root", str(demo_processed.root), "audit", str(REAL)])  # --year is required
    assert exc.value.code == 2


def test_cli_cleans_missing_years_first(project, capsys):
    assert not project.processed_year(2022).exists()
    notice = project.root / "notice.txt"
    shutil.copy(REAL, notice)
    rc, out, err = run_cli(project, notice, "--year", "2022", capsys=capsys)
    assert rc == 1
    assert "cleaning data/raw/khanh_hoa/2022" in err
    assert project.processed_year(2022).is_dir() and project.processed_year(2018).is_dir()
    assert "1 WRONG" in out.splitlines()[-1]


def test_the_complete_example_in_docs_audit_md_is_what_the_audit_prints(demo_processed, facts):
    doc = (Path(__file__).parents[1] / "docs" / "audit.md").read_text(encoding="utf-8")
    example = doc[doc.index("## Example run (complete, demo data)") :]
    rel = "tests/fixtures/notices/notice_2023_par_review_khanhhoa.txt"
    shown = example.split(f"$ par-review audit {rel} --year 2022\n", 1)[1].split("```", 1)[0]
    result = audit(REAL, demo_processed, facts)
    result.source = rel
    assert format_text(result) == shown


def test_cli_takes_the_province_from_the_global_option(demo_processed, capsys):
    rc = cli.main(
        ["--root", str(demo_processed.root), "--province", "khanh_hoa", "audit", str(REAL)]
        + ["--year", "2022", "--format", "json"]
    )
    data = json.loads(capsys.readouterr().out)
    assert rc == 1 and data["province"] == "khanh_hoa" and data["summary"][WRONG] == 1
