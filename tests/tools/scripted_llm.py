"""The scripted model server (``tests/servers/scripted_llm.py``) as a subprocess the tests drive.

Use (the ``scripted_llm`` fixture of conftest gives one, with an empty script)::

    llm = ScriptedLLM()                      # listens on a free port of 127.0.0.1
    llm.set_script([{"tool_calls": [{"name": "demo_add", "arguments": {"a": 1, "b": 2}}]}, {"text": "3"}])
    openai.OpenAI(base_url=llm.openai_base_url, api_key="test")
    anthropic.Anthropic(base_url=llm.anthropic_base_url, api_key="test")
    llm.requests()                           # [{"path", "headers", "body", "time"}, ...] since set_script
    llm.bodies("/v1/chat/completions")       # just the JSON bodies, for one endpoint or all
    llm.stop()
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tools import processes

SERVER = Path(__file__).resolve().parent.parent / "servers" / "scripted_llm.py"


class ScriptedLLM:
    """A running scripted model server: its URLs, and the calls that load a script and read what it received."""

    def __init__(self, turns: list[dict[str, Any]] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(SERVER), "0"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # printed once the socket listens; empty if the server died first
        if not line.startswith("scripted_llm listening on "):
            self.stop()
            raise RuntimeError(f"the scripted model server did not start (it said {line!r})")
        self.url = line.split()[-1]
        self.port = int(self.url.rsplit(":", 1)[1])
        self.openai_base_url = f"{self.url}/v1"
        self.anthropic_base_url = self.url
        if turns is not None:
            self.set_script(turns)

    def _call(self, method: str, path: str, payload: Any = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.load(response)
        except urllib.error.HTTPError as exc:
            raise ValueError(json.load(exc).get("error", exc.reason)) from None

    def set_script(self, turns: list[dict[str, Any]]) -> dict[str, int]:
        """Play these turns from now on; forget the requests received and start the ids again (``call_1``)."""
        return self._call("POST", "/_script", turns)

    def requests(self) -> list[dict[str, Any]]:
        """Every request received since the script was loaded: ``path``, ``headers`` (lower-case), ``body``, ``time``."""
        return self._call("GET", "/_requests")

    def bodies(self, path: str | None = None) -> list[Any]:
        """The JSON bodies received since the script was loaded, of the requests to ``path`` (e.g. ``/v1/messages``) or all."""
        return [r["body"] for r in self.requests() if path is None or r["path"] == path]

    def status(self) -> dict[str, int]:
        """``served`` (turns played), ``remaining`` (sequence turns left), ``rules`` (unused), ``requests``, ``holding`` (stalls)."""
        return self._call("GET", "/_status")

    def wait_status(self, key: str, value: int, timeout: float = 30) -> None:
        """Wait until ``status()[key] == value`` (e.g. a stall holding its response, or letting it go)."""
        deadline = time.monotonic() + timeout
        while (now := self.status()[key]) != value:
            if time.monotonic() > deadline:
                raise AssertionError(f"the scripted model server's {key} stayed {now}, not {value}")
            time.sleep(0.02)

    def stop(self) -> None:
        processes.stop(self.proc)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
