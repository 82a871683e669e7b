#!/bin/sh
# Entry point of the fti-worker and fti-service images.
# With arguments, runs them (a worker, `node dist/cli/main.js db migrate`, `node --version`).
# Without, runs the process FTI_WORKER names as PID 1, so SIGTERM reaches Node directly and the
# Temporal worker drains (workers/run-worker.ts) or the service closes (workers/serve.ts).
set -eu
if [ "$#" -gt 0 ]; then
  exec "$@"
fi
case "${FTI_WORKER:-}" in
  features | training | training-gpu | inference | serve) ;;
  *)
    echo "FTI_WORKER must be one of: features, training, training-gpu, inference, serve (got '${FTI_WORKER:-}')" >&2
    exit 64
    ;;
esac
exec node "dist/workers/${FTI_WORKER}.js"
