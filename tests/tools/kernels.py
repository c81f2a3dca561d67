"""A real Jupyter kernel for the tests: start it, run code in it, collect what it printed, stop it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent.parent


class Kernel:
    """A python3 kernel started in the repository root, with a transcript of what it ran."""

    def __init__(self, name: str = "kernel") -> None:
        self.name = name
        self.km = KernelManager(kernel_name="python3")
        self.km.start_kernel(cwd=str(ROOT))
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)
        self.transcript: list[str] = []

    def start(self, code: str) -> str:
        return self.kc.execute(code)

    def collect(self, msg_id: str, timeout: float = 90) -> dict[str, Any]:
        """The outputs of one execution: stdout, stderr, text (results and displays), updates, ename/evalue and error."""
        out: dict[str, Any] = {"stdout": "", "stderr": "", "text": "", "updates": "", "ename": None, "evalue": None, "error": None}
        deadline = time.monotonic() + timeout
        while True:
            msg = self.kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                out[content["name"]] += content["text"]
            elif kind in ("execute_result", "display_data"):
                out["text"] += content["data"].get("text/plain", "")
            elif kind == "update_display_data":  # a display brought up to date (a progress bar's final line)
                out["updates"] += content["data"].get("text/plain", "") + "\n"
            elif kind == "error":
                out["ename"], out["evalue"] = content["ename"], content["evalue"]
                out["error"] = f"{content['ename']}: {content['evalue']}"
            elif kind == "status" and content["execution_state"] == "idle":
                break
        self.transcript.append(f"[{self.name}] {out}")
        return out

    def run(self, code: str, timeout: float = 90) -> dict[str, Any]:
        return self.collect(self.start(code), timeout)

    def pid(self) -> int:
        return self.km.provisioner.process.pid

    def stop(self) -> None:
        self.kc.stop_channels()
        if self.km.is_alive():
            self.km.shutdown_kernel(now=False)


def run_notebook(notebook: nbformat.NotebookNode | list[str], directory: Path) -> nbformat.NotebookNode:
    """Run a notebook (or code cells given by their sources) top to bottom under nbclient, in a new python3 kernel
    whose working directory is ``directory`` (120 s a cell; an error in a cell raises); returns it with its outputs."""
    if isinstance(notebook, list):
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in notebook])
    NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(directory)}}).execute()
    return notebook
