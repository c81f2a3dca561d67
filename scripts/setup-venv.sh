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
# an editable install leaves out the wheel's data files: put the file that enables the OAuth relay
# (a Jupyter server extension) where a wheel install puts it
mkdir -p .venv/etc/jupyter/jupyter_server_config.d
cp jupyter-config/jupyter_server_config.d/mcpomni_jupyter.json .venv/etc/jupyter/jupyter_server_config.d/
