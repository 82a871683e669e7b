#!/usr/bin/env bash
# infra/stack.sh up|down|status [--workers] [--json]
# Brings the local stack (Temporal dev server + Web UI, PostgreSQL, SeaweedFS S3, NATS JetStream) up or down on a
# laptop or a fresh Debian machine; installs whatever is missing first.
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
exec node dist/cli/main.js stack "$@"
