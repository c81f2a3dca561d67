"""``%load_ext`` stays light: neither the MCP SDK nor the widget libraries load with it (they load on first use)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = (
    "mcp",
    "ipywidgets",
    "anywidget",
    "pandas",
    "mcpomni_jupyter.ui.progress",
    "mcpomni_jupyter.core.manager",
    "langchain_core",
    "openai",
    "anthropic",
)


def test_load_ext_imports_nothing_heavy():
    code = (
        "import sys\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "InteractiveShell.instance().run_line_magic('load_ext', 'mcpomni_jupyter')\n"
        f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules) or 'none')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "none", f"loaded at %load_ext: {out.stdout.strip()}"
