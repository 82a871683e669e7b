#!/usr/bin/env bash
# The main job: install what is missing, bring the stack up with the three workers (and the online
# inference service inside the inference worker), then run Example 1 — real-time card fraud — end
# to end and print a summary. Leaves the stack running; stop it with `infra/stack.sh down`.
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
root="$(pwd)"
# The workers load the examples' feature modules: their groups, transformations and on-demand features.
export FTI_FEATURE_MODULES="$root/dist/examples/fraud/features/module.js,$root/dist/examples/air-quality/features/module.js"
export FTI_FRAUD_DATA_DIR="${FTI_FRAUD_DATA_DIR:-$root/.fti/examples/fraud/data}"
node dist/cli/main.js stack up --workers --restart-workers
fti_log "platform check across fti-features, fti-training and fti-inference"
node dist/cli/main.js check
fti_log "Example 1: real-time card-fraud detection, end to end"
node dist/examples/fraud/run.js
fti_log "Example 2 (daily PM2.5 forecasting, a batch system) runs with: node dist/examples/air-quality/run.js"
fti_log "the stack is still running; stop it with: infra/stack.sh down"
