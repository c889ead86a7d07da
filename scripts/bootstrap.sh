#!/usr/bin/env bash
# Make this checkout runnable: system packages, .venv, the project and its Jupyter kernel.
# Idempotent and quick when nothing changed (a stamp records the pyproject.toml it installed).
#   scripts/bootstrap.sh [report|test]   (which system packages are needed)
set -euo pipefail
cd "$(dirname "$0")/.."
purpose="${1:-report}"

# --- system packages (Debian/Ubuntu) -------------------------------------------------
# The PDF is printed by headless Chromium with a font that has every Vietnamese letter
# (DejaVu).
pkgs=(chromium fonts-dejavu-core)
# The tests also read PDFs (pdftotext), open pages in headless Chromium and check them
# with axe-core (an npm package, so node and npm too).
if [ "$purpose" = test ]; then
  pkgs+=(poppler-utils nodejs)
  # Debian ships npm apart from nodejs; NodeSource's nodejs has it inside (and conflicts)
  command -v npm >/dev/null 2>&1 || pkgs+=(npm)
fi
missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing system packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "Missing system packages. Install them with:" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    exit 3
  fi
fi

# --- virtual environment -------------------------------------------------------------
PY=.venv/bin/python
if [ ! -x "$PY" ]; then
  echo "==> creating .venv"
  python3 -m venv .venv
fi
stamp=.venv/.installed
want="$(cat pyproject.toml uv.lock | sha256sum | cut -c1-64)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "==> installing the locked dependencies and the project into .venv (uv sync --frozen)"
  [ -x .venv/bin/uv ] || .venv/bin/python -m pip install -q --disable-pip-version-check uv
  # uv.lock holds the exact versions CI tested; --frozen installs them and never re-resolves.
  # PYTHONDONTWRITEBYTECODE is set on some machines: compile once now, not on every import.
  UV_COMPILE_BYTECODE=1 UV_PROJECT_ENVIRONMENT=.venv .venv/bin/uv sync -q --frozen --extra dev \
    --python "$PY"
  # uv sync removes what the lock does not list; uv itself stays for the next run
  [ -x .venv/bin/uv ] || .venv/bin/python -m pip install -q --disable-pip-version-check uv
  # The notebooks name this kernel; papermill and JupyterLab both find it in the venv.
  "$PY" -m ipykernel install --sys-prefix --name par-review --display-name "Python (par-review)" >/dev/null
  echo "$want" > "$stamp"
fi

# The project's own modules too (nobody compiles an editable install; with
# PYTHONDONTWRITEBYTECODE set, every command would compile them again): about a third of a
# no-op build. Quick when nothing changed; a module edited later is compiled in memory.
"$PY" -m compileall -q src/par_review >/dev/null 2>&1 || true

# --- npm packages for the tests (axe-core), exactly as package-lock.json says --------
if [ "$purpose" = test ] && command -v npm >/dev/null 2>&1; then
  nstamp=node_modules/.installed
  nwant="$(sha256sum package-lock.json | cut -c1-64)"
  if [ ! -f "$nstamp" ] || [ "$(cat "$nstamp")" != "$nwant" ]; then
    echo "==> installing the test tools from package-lock.json (npm ci)"
    npm ci --no-audit --no-fund --silent
    echo "$nwant" > "$nstamp"
  fi
fi

# --- git hygiene: notebook outputs never reach a commit -------------------------------
if [ -d .git ] && ! git config --get filter.nbstripout.clean >/dev/null 2>&1; then
  .venv/bin/nbstripout --install --attributes .gitattributes >/dev/null 2>&1 || true
fi
exit 0
