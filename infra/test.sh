#!/usr/bin/env bash
# The test command: install, bring the stack up (if it was not already), run lint, format check,
# type check and every jest test (unit + integration against the real services), bring down what
# this script started and check nothing it started is left, then print a last line
# "N passed, N failed" (the checks count as one test each).
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"

was_up=0
node dist/cli/main.js stack status >/dev/null 2>&1 && was_up=1
node dist/cli/main.js stack up

checks_passed=0
checks_failed=0
check() {
  local name=$1
  shift
  fti_log "$name"
  if "$@"; then checks_passed=$((checks_passed + 1)); else checks_failed=$((checks_failed + 1)); echo "FAILED: $name" >&2; fi
}

cleanup() { if [ "$was_up" = 0 ]; then node dist/cli/main.js stack down >&2 || true; fi; }
trap cleanup EXIT

check "python ML packages (infra/requirements-ml.txt) in .venv" bash infra/python-ml.sh
check "lint + format check" npm run --silent lint
check "type check" npm run --silent typecheck

fti_log "jest (unit + integration)"
report=.fti/jest-report.json
mkdir -p .fti
rm -f "$report"
jest_status=0
# Integration files mostly wait on services and Temporal timers (fault tests wait out heartbeat
# timeouts), so four run side by side even on 2 cores.
npx jest --ci --maxWorkers=4 --json --outputFile="$report" "$@" || jest_status=1

cleanup
trap - EXIT
if [ "$was_up" = 0 ]; then
  check "down leaves no process that up started" bash -c "! pgrep -f '$PWD/(\\.venv/bin/(temporal|weed|nats-server)|dist/workers/|\.fti/stack/nats)'"
fi

CHECKS_PASSED=$checks_passed CHECKS_FAILED=$checks_failed node -e '
  const fs = require("fs");
  const r = fs.existsSync(process.argv[1]) ? require(process.argv[1]) : { numPassedTests: 0, numFailedTests: 1, numRuntimeErrorTestSuites: 0, numPendingTests: 0, numTodoTests: 0 };
  const passed = r.numPassedTests + Number(process.env.CHECKS_PASSED);
  const failed = r.numFailedTests + r.numRuntimeErrorTestSuites + Number(process.env.CHECKS_FAILED);
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "$PWD/$report"
[ "$jest_status" = 0 ] && [ "$checks_failed" = 0 ]
