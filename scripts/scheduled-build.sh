#!/usr/bin/env bash
# The scheduled job (cron, systemd): set up what is missing, then build every province,
# year and language. Its exit code is the build's own, as documented in the README
# (0 ok · 1 validation · 2 bad input · 3 locked · 4 other failure), unlike `make report`,
# where make turns every failure into 2. Extra arguments go to `par-review build`.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh report >/dev/null || exit 4
exec .venv/bin/par-review --root "$PWD" build "$@"
