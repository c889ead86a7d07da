"""What the preview server sends that is not a file of the report: the reload script it
injects into every HTML page it serves (never into a file on disk, so no script ever
reaches a published report), the error page shown instead of the report when the last
run failed, and the page shown while the first run is under way.

The script is ours, tiny and offline (no CDN): it polls `/__preview/version` and reloads
the page when the version differs from the one the page was served with.
"""

from __future__ import annotations

import html
import re

VERSION_URL = "/__preview/version"
MARKER = "data-par-review-preview"
POLL_MS = 300

RELOAD_SCRIPT = (
    f"<script {MARKER}>"
    "(function(){{var v={version};"
    "function poll(){{fetch('" + VERSION_URL + "',{{cache:'no-store'}})"
    ".then(function(r){{return r.text()}})"
    ".then(function(t){{if(t.trim()!==v){{location.reload()}}else{{setTimeout(poll,{poll})}}}})"
    ".catch(function(){{setTimeout(poll,1000)}})}}"
    "setTimeout(poll,{poll})}})();</script>"
)

_BODY_END = re.compile(rb"</body\s*>", re.IGNORECASE)


def reload_script(version: int | str) -> str:
    return RELOAD_SCRIPT.format(version=_js_string(str(version)), poll=POLL_MS)


def _js_string(text: str) -> str:
    safe = "".join(c for c in text if c.isalnum() or c in "-_.")
    return f"'{safe}'"


def inject(page: bytes | str, version: int | str) -> bytes:
    """The page with the reload script before its last </body> (or at its end)."""
    data = page.encode("utf-8") if isinstance(page, str) else page
    script = reload_script(version).encode("utf-8")
    ends = list(_BODY_END.finditer(data))
    if not ends:
        return data + script
    at = ends[-1].start()
    return data[:at] + script + data[at:]


_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;"
    "color:#222}h1{font-size:1.4rem;color:#a40000}pre{white-space:pre-wrap;background:#fff4f4;"
    "border-left:4px solid #a40000;padding:.8rem 1rem;font-size:.95rem}"
    ".en{color:#555}a.good{display:inline-block;margin-top:.5rem;font-size:1.1rem}"
    "code{background:#f3f3f3;padding:0 .2rem}"
)


def _doc(title: str, body: str, version: int | str) -> bytes:
    page = (
        '<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body>{body}</body></html>"
    )
    return inject(page, version)


def error_page(
    error: dict, key: str, version: int | str, last_good: str | None, last_good_at: str = ""
) -> bytes:
    """The error of the last run, in the words the step gave (an input error names the file,
    sheet, row and value, in Vietnamese then English), with the last good preview one
    click away."""
    step = html.escape(error.get("step") or "?")
    where = html.escape(error.get("key") or key)
    message = html.escape(error.get("message") or "")
    notebook = error.get("notebook") or ""
    parts = [
        "<h1>Bản xem trước chưa cập nhật được<br>"
        '<span class="en">The preview could not be updated</span></h1>',
        f"<p>Bước <b>{step}</b> của <b>{where}</b> báo lỗi:<br>"
        f'<span class="en">The <b>{step}</b> step of <b>{where}</b> failed:</span></p>',
        f"<pre>{message}</pre>",
    ]
    if notebook:
        parts.append(
            f"<p>Sổ tay đã chạy / executed notebook: <code>{html.escape(notebook)}</code></p>"
        )
    if error.get("docs"):
        parts.append(
            f'<p><a href="{html.escape(error["docs"])}">Báo cáo kiểm tra số liệu của lần chạy này '
            '(Data Docs)<br><span class="en">The validation report of this run (Data Docs)'
            "</span></a></p>"
        )
    if last_good:
        when = f" ({html.escape(last_good_at)})" if last_good_at else ""
        parts.append(
            f'<p><a class="good" href="{html.escape(last_good)}">'
            f"Xem bản xem trước tốt gần nhất{when}<br>"
            f'<span class="en">Open the last good preview{when}</span></a></p>'
        )
    else:
        parts.append(
            "<p>Chưa có bản xem trước tốt nào.<br>"
            '<span class="en">There is no good preview yet.</span></p>'
        )
    parts.append(
        "<p>Trang này tự tải lại khi bạn lưu bản sửa.<br>"
        '<span class="en">This page reloads itself when you save a fix.</span></p>'
    )
    return _doc(f"Lỗi / Error — {key}", "".join(parts), version)


def waiting_page(key: str, version: int | str, doing: str = "") -> bytes:
    doing_html = f"<p><code>{html.escape(doing)}</code></p>" if doing else ""
    body = (
        f"<h1 style='color:#333'>Đang dựng bản xem trước {html.escape(key)}…<br>"
        f"<span class='en'>Building the preview of {html.escape(key)}…</span></h1>"
        f"{doing_html}"
        "<p>Trang này tự tải lại khi xong.<br>"
        "<span class='en'>This page reloads itself when it is ready.</span></p>"
    )
    return _doc(f"{key}", body, version)


def not_found_page(rel: str, version: int | str) -> bytes:
    body = (
        f"<h1 style='color:#333'>Không có tệp này trong bản xem trước: "
        f"<code>{html.escape(rel)}</code><br>"
        "<span class='en'>Not part of this preview (it builds one language, HTML only)</span>"
        "</h1><p><a href='/'>Về báo cáo / back to the report</a></p>"
    )
    return _doc("404", body, version)
