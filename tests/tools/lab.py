"""A real JupyterLab (or Notebook 7) server for browser tests and benchmarks, and Playwright helpers to drive notebooks.

``frontend="notebook"`` serves Jupyter Notebook 7 (the ``notebook`` package)
instead of JupyterLab: the same Jupyter server and JupyterLab's notebook
components, its own page (``notebooks/NAME.ipynb``, the kernel's status in
the notebook's toolbar).  The server runs from this checkout's venv, so the Jupyter server extension
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
FRONTENDS = ("lab", "notebook")
KERNEL_UP = ".jp-NotebookKernelStatus-fade" + "".join(f":not(.jp-NotebookKernelStatus-{c})" for c in ("info", "warn", "error"))


@dataclass
class Lab:
    proc: subprocess.Popen
    port: int
    base_url: str  # "/" or "/user/ada/"
    log: Path
    frontend: str = "lab"  # or "notebook": Notebook 7

    @property
    def root(self) -> Path:
        """The folder it serves (its notebooks, and its log)."""
        return self.log.parent

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


def _command(frontend: str, root: Path, port: int, base_url: str) -> list[str]:
    """The server's command line: the same Jupyter server options for both front ends, no news, no update checks."""
    if frontend not in FRONTENDS:
        raise ValueError(f"frontend must be one of {FRONTENDS}, not {frontend!r}")
    server = [
        "--no-browser",
        f"--ServerApp.port={port}",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.base_url={base_url}",
        "--ServerApp.allow_remote_access=True",  # the page is also served as http://lab.test:PORT
        f"--IdentityProvider.token={TOKEN}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.news_url=None",  # Notebook 7 also loads JupyterLab's server extension, which serves the news
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--allow-root",
    ]
    if frontend == "lab":
        return [sys.executable, "-m", "jupyterlab", *server, "--LabApp.extension_manager=readonly"]
    return [sys.executable, "-m", "notebook", *server]


def start_lab(
    root: Path, port: int, base_url: str = "/", env: dict[str, str] | None = None, save_widget_state: bool = False, frontend: str = "lab"
) -> Lab:
    """JupyterLab (or Notebook 7) on 127.0.0.1:``port`` under ``base_url``, serving ``root``; its log in ``root/lab.log``."""
    settings = root / "lab-settings" / "@jupyter-widgets" / "jupyterlab-manager"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "plugin.jupyterlab-settings").write_text(json.dumps({"saveState": save_widget_state}))
    news = root / "lab-settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True, exist_ok=True)
    (news / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    log = root / "lab.log"
    proc = subprocess.Popen(
        _command(frontend, root, port, base_url),
        env={**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(root / "lab-settings"), **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
        cwd=root,
    )
    lab = Lab(proc, port, base_url, log, frontend)
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx2.get(f"{lab.url()}api/status", params={"token": TOKEN}).status_code == 200:
                return lab
        except httpx2.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            lab.stop()
            raise RuntimeError(f"{'JupyterLab' if frontend == 'lab' else 'Notebook 7'} did not start: {log.read_text()[-2000:]}")
        time.sleep(0.5)


def write_notebook(path: Path, cells: list[str]) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def open_notebook(page: Any, lab: Lab, name: str, host: str = "127.0.0.1") -> None:
    """Open ``name`` in the server's front end and wait until its kernel is idle."""
    from playwright.sync_api import expect

    if lab.frontend == "notebook":
        page.goto(f"{lab.url(host)}notebooks/{name}?token={TOKEN}")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
        # Notebook 7 has no status bar.  The top bar's kernel status fades out (and says nothing) once the kernel
        # is idle or busy; the toolbar's execution indicator, "idle" before any kernel, then tells which.
        page.wait_for_selector(KERNEL_UP, state="attached", timeout=90_000)
        expect(page.locator(".jp-Notebook-ExecutionIndicator")).to_have_attribute("data-status", "idle", timeout=90_000)
        return
    page.goto(f"{lab.url(host)}lab/tree/{name}?token={TOKEN}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
    expect(page.locator("#jp-main-statusbar")).to_contain_text("Idle", timeout=90_000)


def run_all(page: Any) -> None:
    """Run > Run All Cells (JupyterLab and Notebook 7 alike): every cell's execute request is queued at once, as a
    person's "Run All" does."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()


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
def chromium(*args: str) -> Iterator[Any]:
    """Headless Chromium (Debian's, never a download) through Playwright, with ``CHROMIUM_ARGS`` and ``args``."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=[*CHROMIUM_ARGS, *args])
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def lab_page(root: Path, port: int, notebook: str, viewport: tuple[int, int] = (1200, 1400), frontend: str = "lab") -> Iterator[Any]:
    """JupyterLab (or Notebook 7) on ``port`` serving ``root``, and headless Chromium showing ``notebook`` in it (its
    kernel idle): the page (``page.context`` is its browser context)."""
    lab = start_lab(root, port, frontend=frontend)
    try:
        with chromium() as browser:
            page = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}).new_page()
            open_notebook(page, lab, notebook)
            yield page
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
