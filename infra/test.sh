#!/usr/bin/env bash
# The test command: install, bring the stack up (if it was not already), run lint, format check,
# type check, every jest test (unit + integration against the real services) and the Python
# client's pytest suite, bring down what this script started and check nothing it started is left,
# then print a last line "N passed, N failed" (jest + pytest tests; the checks count as one each).
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

# The Python client's tests run against the same stack (their fixture starts its own online
# service on a free port); their counts are added to the final line.
fti_log "pytest (Python client: clients/python/tests)"
pytest_report=.fti/pytest-report.xml
rm -f "$pytest_report"
pytest_status=0
if bash infra/python-client.sh; then
  .venv/bin/python -m pytest clients/python/tests -q -p no:cacheprovider --junitxml="$pytest_report" || pytest_status=1
else
  pytest_status=1
fi

cleanup
trap - EXIT
if [ "$was_up" = 0 ]; then
  check "down leaves no process that up started" bash -c "! pgrep -f '$PWD/(\\.venv/bin/(temporal|weed|nats-server)|dist/workers/|\.fti/stack/nats)'"
fi

CHECKS_PASSED=$checks_passed CHECKS_FAILED=$checks_failed node -e '
  const fs = require("fs");
  const r = fs.existsSync(process.argv[1]) ? require(process.argv[1]) : { numPassedTests: 0, numFailedTests: 1, numRuntimeErrorTestSuites: 0, numPendingTests: 0, numTodoTests: 0 };
  // pytest JUnit XML: <testsuite ... errors="0" failures="0" skipped="0" tests="11" ...>; no report counts as one failure.
  const py = { passed: 0, failed: 1, skipped: 0 };
  if (fs.existsSync(process.argv[2])) {
    const suite = fs.readFileSync(process.argv[2], "utf8").match(/<testsuite\b[^>]*>/)?.[0] ?? "";
    const n = (name) => Number(suite.match(new RegExp(`\\b${name}="(\\d+)"`))?.[1] ?? 0);
    py.failed = n("failures") + n("errors");
    py.skipped = n("skipped");
    py.passed = n("tests") - py.failed - py.skipped;
  }
  const passed = r.numPassedTests + py.passed + Number(process.env.CHECKS_PASSED);
  const failed = r.numFailedTests + r.numRuntimeErrorTestSuites + py.failed + Number(process.env.CHECKS_FAILED);
  const skipped = r.numPendingTests + r.numTodoTests + py.skipped;
  console.log(`${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "$PWD/$report" "$PWD/$pytest_report"
[ "$jest_status" = 0 ] && [ "$pytest_status" = 0 ] && [ "$checks_failed" = 0 ]
