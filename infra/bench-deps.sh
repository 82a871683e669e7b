#!/usr/bin/env bash
# Installs the peers some benchmarks compare against, none of which the tests or the main job need:
# Debian's `xgboost` command-line program (bench/train) and Feast in .venv-bench (bench/pit, via
# infra/python-bench.sh). Safe to run repeatedly: each is installed only when missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v xgboost >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "warning: bench/train compares with Debian's xgboost; install it as root: apt-get install -y xgboost" >&2
  else
    printf '\033[1m[fti]\033[0m %s\n' "installing Debian's xgboost (the peer of bench/train)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q xgboost >/dev/null ||
      { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q xgboost >/dev/null; }
  fi
fi
bash infra/python-bench.sh
