"""`par-review preview`: a live preview of one report (province, year, lang) for analysts.

    watch.py    poll the project's files by mtime; which steps a change affects
    session.py  the step table run for one key on ONE warm kernel, written under
                build/preview/<province>/<year>/ only (its own state file), never reports/
    page.py     the reload script injected into served HTML; the error and waiting pages
    server.py   the local HTTP server (127.0.0.1 only, standard library) and the loop

See docs/preview.md.
"""
