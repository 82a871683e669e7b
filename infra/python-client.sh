#!/usr/bin/env bash
# Makes the Python client (clients/python, package fti-client) importable from .venv, installed in
# editable mode from this checkout, and builds the fixture its tests start
# (dist/test/support/python-client-fixture.js) when it is missing or older than test/support.
# Idempotent; takes a fraction of a second when nothing changed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
stamp=.venv/.fti-client.stamp
installed_here() {
  .venv/bin/python - <<'PY' 2>/dev/null
import os, sys
import fti_client
here = os.path.realpath("clients/python/src")
sys.exit(0 if os.path.realpath(fti_client.__file__).startswith(here + os.sep) else 1)
PY
}
if [ ! -f "$stamp" ] || [ clients/python/pyproject.toml -nt "$stamp" ] || ! installed_here; then
  printf '\033[1m[fti]\033[0m %s\n' "installing the Python client (clients/python) into .venv, editable" >&2
  # No build isolation: setuptools is already in .venv, and nothing is fetched from PyPI.
  .venv/bin/pip install --disable-pip-version-check -q --no-deps --no-build-isolation -e clients/python
  touch "$stamp"
fi
fixture=dist/test/support/python-client-fixture.js
if [ ! -f "$fixture" ] || [ -n "$(find test/support -name '*.ts' -newer "$fixture" -print -quit)" ]; then
  printf '\033[1m[fti]\033[0m %s\n' "building the Python client tests' fixture (npm run build)" >&2
  npm run --silent build
fi
