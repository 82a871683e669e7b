"""Session fixture: a running online service with a small feature store to read, on the local stack.

It starts ``node dist/test/support/python-client-fixture.js`` (built by ``npm run build``; the test
command runs ``infra/python-client.sh``, which builds it when needed) from the repository root. That
process uses the stack's test database and bucket, prints one JSON line describing what it created
(URL, one API key per scope, names, the rows written), and cleans up when its stdin closes.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest

from fti_client import FeatureStore

ROOT = Path(__file__).resolve().parents[3]
FIXTURE = ROOT / "dist" / "test" / "support" / "python-client-fixture.js"
READY_TIMEOUT_S = 120


@pytest.fixture(scope="session")
def platform() -> Iterator[Dict[str, Any]]:
    if not FIXTURE.exists():
        pytest.fail(f"{FIXTURE} is missing: run `npm run build` (or infra/python-client.sh) first")
    env = {**os.environ, "LOG_LEVEL": os.environ.get("LOG_LEVEL", "warn")}
    process = subprocess.Popen(
        ["node", str(FIXTURE)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdin is not None
    lines: "queue.Queue[str]" = queue.Queue()
    threading.Thread(target=lambda: lines.put(process.stdout.readline()), daemon=True).start()  # type: ignore[union-attr]
    try:
        line = lines.get(timeout=READY_TIMEOUT_S)
    except queue.Empty:
        process.kill()
        pytest.fail(f"the platform fixture printed nothing within {READY_TIMEOUT_S} s")
    if not line:
        process.wait(timeout=10)
        pytest.fail(f"the platform fixture exited with code {process.returncode} (its error is above)")
    try:
        yield json.loads(line)
    finally:
        process.stdin.close()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def fs(platform: Dict[str, Any]) -> FeatureStore:
    """A client with a `features` key."""
    return FeatureStore(platform["url"], api_key=platform["keys"]["features"])


@pytest.fixture(scope="session")
def keys(platform: Dict[str, Any]) -> Dict[str, str]:
    return dict(platform["keys"])
