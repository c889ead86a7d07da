"""Reading a notice: a .txt, .md or .docx file into NFC text, one paragraph after another
separated by a blank line (so line numbers in the audit are the file's own, and a .docx
paragraph is every other line of the extracted text).

    text = read_notice("notice.docx")     # NoticeError when it cannot be read
    lines = read_lines("notice.md")
"""

from __future__ import annotations

import unicodedata
from pathlib import Path


class NoticeError(ValueError):
    """The notice cannot be read (names the file and why)."""


def read_notice(path: str | Path) -> str:
    """The text of a notice (.txt, .md or .docx), NFC-normalised; paragraphs separated by a
    blank line. Raises NoticeError when the file cannot be read."""
    p = Path(path)
    if not p.is_file():
        raise NoticeError(f"{p}: no such file")
    suffix = p.suffix.lower()
    if suffix == ".doc":
        raise NoticeError(f"{p}: old Word .doc files are not supported; save it as .docx")
    if suffix == ".docx":
        text = _read_docx(p)
    else:
        raw = p.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise NoticeError(
                f"{p}: not UTF-8 text (byte {exc.start}); save the notice as UTF-8"
            ) from exc
    return unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))


def read_lines(path: str | Path) -> list[str]:
    """The notice's lines (line 1 first), as the audit numbers them."""
    return read_notice(path).split("\n")


def _read_docx(p: Path) -> str:
    try:
        import docx
        from docx.table import Table
        from docx.text.paragraph import Paragraph
    except ImportError as exc:  # pragma: no cover - python-docx is a declared dependency
        raise NoticeError(f"{p}: reading .docx needs the python-docx package") from exc
    try:
        document = docx.Document(str(p))
    except Exception as exc:  # python-docx raises several kinds on a broken package
        raise NoticeError(
            f"{p}: not a readable .docx file ({exc.__class__.__name__}: {exc})"
        ) from exc
    blocks: list[str] = []
    for child in document.element.body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            blocks.append(Paragraph(child, document).text)
        elif tag == "tbl":  # a table row reads as one paragraph: "UBND cấp xã | 74/136 …"
            for row in Table(child, document).rows:
                blocks.append(" | ".join(cell.text for cell in row.cells))
    return "\n\n".join(blocks)
