#!/usr/bin/env bash
# Makes sure the benchmark venv (.venv-bench) holds the pinned packages of infra/requirements-bench.txt
# (Feast with its DuckDB offline store, the peer of bench/pit), installing them from PyPI when missing
# or when the file changed. A venv of its own, so Feast's dependency pins never touch the test venv
# (.venv, infra/python-ml.sh). Safe to run repeatedly; nothing in CI or the tests needs it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
requirements=infra/requirements-bench.txt
venv=.venv-bench
stamp=$venv/.requirements-bench.stamp
if [ -f "$stamp" ] && [ ! "$requirements" -nt "$stamp" ] && \
  "$venv/bin/python" -c 'import importlib.util as u, sys; sys.exit(not all(u.find_spec(m) for m in ("feast", "duckdb", "ibis", "pyarrow", "pandas")))' 2>/dev/null; then
  exit 0
fi
if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import venv' 2>/dev/null; then
  echo "error: python3 with venv is needed for $requirements; install python3 and python3-venv." >&2
  exit 1
fi
[ -x "$venv/bin/pip" ] || python3 -m venv "$venv"
printf '\033[1m[fti]\033[0m %s\n' "installing the pinned benchmark packages ($requirements) into $venv" >&2
"$venv/bin/pip" install --disable-pip-version-check -q -r "$requirements"
touch "$stamp"
