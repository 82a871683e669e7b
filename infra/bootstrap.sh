# Sourced by the infra/*.sh entry points: makes sure Node.js, the npm packages and the compiled
# build exist, installing only what is missing. Safe to source repeatedly.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# onnxruntime-node's postinstall would try to download CUDA files from a host we cannot reach.
export ONNXRUNTIME_NODE_INSTALL=skip

fti_log() { printf '\033[1m[fti]\033[0m %s\n' "$*" >&2; }

if ! command -v node >/dev/null 2>&1 || ! node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>20||(a===20&&b>=3)?0:1)'; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    fti_log "installing Node.js and npm with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm
  fi
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>20||(a===20&&b>=3)?0:1)' 2>/dev/null || {
    echo "error: Node.js >= 20.3 is required (found: $(node --version 2>/dev/null || echo none)). Install it and re-run." >&2
    exit 1
  }
fi

# Reinstall when the lockfile changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  fti_log "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

# Rebuild when any source file is newer than the last build.
stamp=dist/.build-stamp
if [ ! -f "$stamp" ] || [ -n "$(find core workflows activities workers cli infra examples bench package-lock.json tsconfig.json tsconfig.build.json -newer "$stamp" \( -name '*.ts' -o -name '*.json' -o -name '*.sql' \) -print -quit 2>/dev/null)" ]; then
  fti_log "building (tsc + workflow bundle)"
  npm run --silent build
fi
