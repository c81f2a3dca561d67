"""What an install gives: the relay enabled through jupyter_server_config.d, the widgets' ESM inside the package."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = "etc/jupyter/jupyter_server_config.d/mcpomni_jupyter.json"


def test_the_wheel_enables_the_relay_and_carries_the_esm(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", str(ROOT), "-w", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("mcpomni_jupyter-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (config,) = [name for name in names if name.endswith(CONFIG)]
        assert ".data/data/" in config  # installed under sys.prefix, where Jupyter looks
        assert json.loads(archive.read(config)) == {"ServerApp": {"jpserver_extensions": {"mcpomni_jupyter": True}}}
        assert {"mcpomni_jupyter/ui/bridge.js", "mcpomni_jupyter/ui/authorize_button.js"} <= set(names)
        assert not any("/test" in name or name.endswith(".ipynb") for name in names)


def test_jupyter_lists_the_extension_enabled_and_valid():
    jupyter = Path(sys.executable).with_name("jupyter")
    out = subprocess.run([str(jupyter), "server", "extension", "list"], capture_output=True, text=True, timeout=120)
    text = (out.stdout + out.stderr).replace("\x1b[32m", "").replace("\x1b[0m", "")
    assert "mcpomni_jupyter enabled" in text
    assert "mcpomni_jupyter 0." in text and "OK" in text.split("mcpomni_jupyter 0.", 1)[1].splitlines()[0]
