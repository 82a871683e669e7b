#!/usr/bin/env bash
# The test command: install, bring the stack up (if it was not already), run lint, type check and
# every jest test (unit + integration against the real services), bring down what this script
# started, and print a last line "N passed, N failed".
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"

was_up=0
node dist/cli/main.js stack status >/dev/null 2>&1 && was_up=1
node dist/cli/main.js stack up
cleanup() { if [ "$was_up" = 0 ]; then node dist/cli/main.js stack down || true; fi; }
trap cleanup EXIT

status=0
fti_log "lint + format check + type check"
npm run --silent lint || status=1
npm run --silent typecheck || status=1

fti_log "jest (unit + integration)"
report=.fti/jest-report.json
mkdir -p .fti
npx jest --ci --json --outputFile="$report" "$@" || status=1

node -e '
  const r = require(process.argv[1]);
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests + r.numRuntimeErrorTestSuites} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "$PWD/$report" || { echo "0 passed, 1 failed"; status=1; }
exit $status
