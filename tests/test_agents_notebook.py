"""notebooks/agents.ipynb runs clean in a real kernel, offline: the demo server and a scripted model."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from tools.kernels import run_notebook

pytestmark = [pytest.mark.kernel, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parent.parent


def outputs(nb) -> list[str]:
    return [
        str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
    ]


def test_the_agents_notebook_runs_offline(tmp_path):
    nb = run_notebook(nbformat.read(ROOT / "notebooks" / "agents.ipynb", as_version=4), tmp_path)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors
    text = "\n".join(outputs(nb))
    assert "('demo_word_count', 'demo.word_count', True)" in text and "('demo_slow_count', 'demo.slow_count', False)" in text
    assert text.count("The text has **5 words**.") >= 3  # the agent, the ask cell's streamed answer, the handler's run
    assert "[ok] demo.word_count" in text  # the ask's step, in its text form (what a saved notebook keeps)
    assert "1. you: How many words are in 'the quick brown fox jumps'?" in text  # %mcp history
    assert "word_count: the handler allowed a model's call (rule 'demo.word_count')" in text  # the decision, in the log
