"""A real JupyterLab server for browser tests and benchmarks, and a few Playwright helpers to drive notebooks.

JupyterLab runs from this checkout's venv, so the Jupyter server extension
of mcpomni_jupyter (the OAuth relay) is enabled exactly as an install
enables it (``jupyter_server_config.d``).  ``RESOLVE`` makes Chromium
resolve ``lab.test`` to 127.0.0.1: a page served as ``http://lab.test:PORT``
has a non-loopback origin, as a JupyterHub's has, while every byte stays on
loopback.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import nbformat
from tools.headless_browser import CHROMIUM_ARGS

TOKEN = "mcpj-lab-test"
REMOTE_HOST = "lab.test"
RESOLVE = f"--host-resolver-rules=MAP {REMOTE_HOST} 127.0.0.1"


@dataclass
class Lab:
    proc: subprocess.Popen
    port: int
    base_url: str  # "/" or "/user/ada/"
    log: Path

    def url(self, host: str = "127.0.0.1") -> str:
        """The server's root as a browser on ``host`` reaches it, ending in the base URL."""
        return f"http://{host}:{self.port}{self.base_url}"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(15)


def start_lab(root: Path, port: int, base_url: str = "/", env: dict[str, str] | None = None, save_widget_state: bool = False) -> Lab:
    """JupyterLab on 127.0.0.1:``port`` under ``base_url``, serving ``root``; its log in ``root/lab.log``."""
    settings = root / "lab-settings" / "@jupyter-widgets" / "jupyterlab-manager"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "plugin.jupyterlab-settings").write_text(json.dumps({"saveState": save_widget_state}))
    news = root / "lab-settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True, exist_ok=True)
    (news / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    log = root / "lab.log"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            f"--ServerApp.port={port}",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.base_url={base_url}",
            "--ServerApp.allow_remote_access=True",  # the page is also served as http://lab.test:PORT
            f"--IdentityProvider.token={TOKEN}",
            f"--ServerApp.root_dir={root}",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",
            "--allow-root",
        ],
        env={**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(root / "lab-settings"), **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
        cwd=root,
    )
    lab = Lab(proc, port, base_url, log)
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx2.get(f"{lab.url()}api/status", params={"token": TOKEN}).status_code == 200:
                return lab
        except httpx2.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            lab.stop()
            raise RuntimeError(f"JupyterLab did not start: {log.read_text()[-2000:]}")
        time.sleep(0.5)


def write_notebook(path: Path, cells: list[str]) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def open_notebook(page: Any, lab: Lab, name: str, host: str = "127.0.0.1") -> None:
    from playwright.sync_api import expect

    page.goto(f"{lab.url(host)}lab/tree/{name}?token={TOKEN}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
    expect(page.locator("#jp-main-statusbar")).to_contain_text("Idle", timeout=90_000)


def run_cell(page: Any, index: int, timeout: float = 60_000) -> Any:
    """Run cell ``index`` (Shift+Enter) and wait until it has run; its output area."""
    from playwright.sync_api import expect

    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    prompt = cell.locator(".jp-InputPrompt")
    before = prompt.inner_text()
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")
    expect(prompt).not_to_have_text(before, timeout=timeout)  # "[ ]" -> "[*]" or "[n]"
    expect(prompt).to_have_text(re.compile(r"\[\d+\]"), timeout=timeout)
    return cell.locator(".jp-OutputArea")


def start_cell(page: Any, index: int) -> Any:
    """Run cell ``index`` (Shift+Enter) without waiting for it to end (it may wait for a click); its output area."""
    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")
    return cell.locator(".jp-OutputArea")


@contextmanager
def lab_page(root: Path, port: int, notebook: str, viewport: tuple[int, int] = (1200, 1400)) -> Iterator[Any]:
    """JupyterLab on ``port`` serving ``root``, and headless Chromium showing ``notebook`` in it (its kernel idle): the page."""
    from playwright.sync_api import sync_playwright

    lab = start_lab(root, port)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
            try:
                page = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}).new_page()
                open_notebook(page, lab, notebook)
                yield page
            finally:
                browser.close()
    finally:
        lab.stop()


def run_until(page: Any, index: int, text: str, tries: int = 20) -> str:
    """Run cell ``index`` again until its output contains ``text`` (what an idle kernel learns between cells)."""
    out = ""
    for _ in range(tries):
        out = run_cell(page, index).inner_text()
        if text in out:
            return out
        time.sleep(0.5)
    raise AssertionError(f"cell {index} never printed {text!r}; last output: {out!r}")
