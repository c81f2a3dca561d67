#!/usr/bin/env bash
# Create .venv in the checkout (if missing) and install the project with the given extras.
# Usage: scripts/setup-venv.sh EXTRAS   (e.g. "test" or "lab,test")
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-test}"
PY="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
    .venv/bin/python -m pip install --quiet --upgrade pip
fi
stamp=".venv/.installed-${extras//,/-}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[${extras}]"
    touch "$stamp"
fi
