#!/usr/bin/env bash
# The main job: install what is missing, bring the stack and the three workers up, and run the
# platform end to end. Leaves the stack running; stop it with `infra/stack.sh down`.
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
node dist/cli/main.js stack up --workers
fti_log "running the platformCheck workflow on all three task queues"
node dist/cli/main.js check
node dist/cli/main.js stack status || true
fti_log "the stack is still running; stop it with: infra/stack.sh down"
