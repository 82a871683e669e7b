#!/usr/bin/env bash
# Makes sure the project venv (.venv) holds the pinned Python ML packages of infra/requirements-ml.txt,
# installing them from PyPI when missing or when the file changed. Safe to run repeatedly.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
requirements=infra/requirements-ml.txt
stamp=.venv/.requirements-ml.stamp
if [ -f "$stamp" ] && [ ! "$requirements" -nt "$stamp" ] && \
  .venv/bin/python -c 'import xgboost, numpy, sklearn, skl2onnx, onnxmltools, onnx, pyarrow, pandas, pytest, tritonclient.http, kserve' 2>/dev/null; then
  exit 0
fi
if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import venv' 2>/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3 python3-venv
  else
    echo "error: python3 with venv is needed for $requirements; install python3 and python3-venv." >&2
    exit 1
  fi
fi
[ -x .venv/bin/pip ] || python3 -m venv .venv
printf '\033[1m[fti]\033[0m %s\n' "installing the pinned Python ML packages ($requirements) into .venv" >&2
.venv/bin/pip install --disable-pip-version-check -q -r "$requirements"
touch "$stamp"
