"""A real JupyterHub for browser tests: PyPI ``jupyterhub`` behind npm's ``configurable-http-proxy``, on loopback only.

The hub is what a small deployment runs, minus the operating-system users:
``DummyAuthenticator`` (one shared password, ``allowed_users``),
``SimpleLocalProcessSpawner`` (each user's home under the test's directory),
JupyterLab as the single-user server, from this checkout's venv.  The venv's
``etc/jupyter/jupyter_server_config.d`` enables the OAuth relay exactly as a
wheel install does; ``PYTHONPATH`` is handed to the single-user servers (and
so to their kernels) so the checkout's package is the one that runs.  The hub
database, cookie secret and proxy token live in the test's directory; the
proxy, the hub and every single-user server listen on 127.0.0.1.  A service
token (``API_TOKEN``) lets the test start servers through the hub's REST API.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import psutil

HERE = Path(__file__).resolve().parent.parent
ROOT = HERE.parent
CHP = HERE / "node" / "node_modules" / ".bin" / "configurable-http-proxy"
FORCE_LOOPBACK = HERE / "node" / "force-loopback.cjs"
PASSWORD = "mcpj-hub-password"
API_TOKEN = "mcpj-hub-api-token-0123456789"
PROXY_TOKEN = "mcpj-hub-proxy-token-0123456789"
LOOPBACK = {"127.0.0.1", "::1", "::ffff:127.0.0.1"}

_CONFIG = """\
import sys
c = get_config()  # noqa
c.JupyterHub.bind_url = "http://127.0.0.1:{port}/"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{hub_port}/"
c.JupyterHub.db_url = "sqlite:///{root}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{root}/jupyterhub_cookie_secret"
c.JupyterHub.pid_file = "{root}/jupyterhub.pid"
c.ConfigurableHTTPProxy.command = [{chp!r}]
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{api_port}"
c.ConfigurableHTTPProxy.auth_token = {proxy_token!r}
c.ConfigurableHTTPProxy.pid_file = "{root}/proxy.pid"
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = {password!r}
c.Authenticator.allowed_users = set({users!r})
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = "{root}/home/{{username}}"
c.Spawner.cmd = [{python!r}, "-m", "jupyterhub.singleuser"]
c.Spawner.default_url = "/lab"
c.Spawner.args = {args!r}
c.Spawner.environment = {{"PYTHONPATH": {pythonpath!r}}}
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.JupyterHub.services = [{{"name": "tests", "api_token": {api_token!r}}}]
c.JupyterHub.load_roles = [{{"name": "tests", "scopes": ["admin:servers", "admin:users"], "services": ["tests"]}}]
"""

SINGLEUSER_ARGS = [
    "--ServerApp.allow_root=True",
    "--LabApp.news_url=None",
    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    "--LabApp.extension_manager=readonly",
]


@dataclass
class Hub:
    proc: subprocess.Popen
    port: int
    root: Path
    log: Path
    users: tuple[str, ...]
    children: set[int] = field(default_factory=set)  # every process the hub started, seen so far

    def url(self, host: str = "127.0.0.1") -> str:
        """The hub's public root, as a browser on ``host`` reaches it."""
        return f"http://{host}:{self.port}/"

    def home(self, user: str) -> Path:
        return self.root / "home" / user

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"token {API_TOKEN}"}
        return httpx2.request(method, f"{self.url()}hub/api/{path}", headers=headers, timeout=30, **kwargs)

    def spawn(self, *users: str) -> None:
        """Start these users' servers at once, then wait until each is ready (the hub's progress events)."""
        for user in users:
            response = self.api("POST", f"users/{user}/server")
            assert response.status_code in (201, 202), f"spawn {user}: {response.status_code} {response.text[:300]}"
        for user in users:
            self._wait_ready(user)

    def _wait_ready(self, user: str) -> None:
        events: list[dict[str, Any]] = []
        url = f"{self.url()}hub/api/users/{user}/server/progress"
        with httpx2.stream("GET", url, headers={"Authorization": f"token {API_TOKEN}"}, timeout=180) as stream:
            for line in stream.iter_lines():
                if line.startswith("data:"):
                    events.append(json.loads(line[5:]))
                    if events[-1].get("ready") or events[-1].get("failed"):
                        break
        if not (events and events[-1].get("ready")):
            raise RuntimeError(f"{user}'s server did not start: {events[-3:]}; hub log: {self.log.read_text()[-3000:]}")
        self._remember()

    def _remember(self) -> None:
        try:
            self.children |= {p.pid for p in psutil.Process(self.proc.pid).children(recursive=True)}
        except psutil.NoSuchProcess:
            pass

    def listening(self) -> list[tuple[str, str, int]]:
        """Every socket the hub's processes listen on: (process name, address, port)."""
        self._remember()
        found = []
        for pid in {self.proc.pid, *self.children}:
            try:
                process = psutil.Process(pid)
                for conn in process.net_connections(kind="inet"):
                    if conn.status == psutil.CONN_LISTEN:
                        found.append((process.name(), conn.laddr.ip, conn.laddr.port))
            except psutil.NoSuchProcess:
                continue
        return found

    def stop(self) -> None:
        """Stop the hub (it stops the servers and the proxy), then whatever it started that is still there."""
        self._remember()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(15)
        for pid in self.children:
            try:
                psutil.Process(pid).kill()
            except psutil.NoSuchProcess:
                pass


def lab_settings(home: Path) -> None:
    """JupyterLab's settings in a user's home: no widget state saved in notebooks, no news, no update checks."""
    settings = home / ".jupyter" / "lab" / "user-settings"
    widgets = settings / "@jupyter-widgets" / "jupyterlab-manager"
    widgets.mkdir(parents=True, exist_ok=True)
    (widgets / "plugin.jupyterlab-settings").write_text(json.dumps({"saveState": False}))
    news = settings / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True, exist_ok=True)
    (news / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))


def start_hub(root: Path, ports: tuple[int, int, int], users: tuple[str, ...] = ("alice", "bob")) -> Hub:
    """JupyterHub on 127.0.0.1 (public, hub and proxy API ports), its files in ``root``, its log in ``root/hub.log``."""
    if not CHP.exists():
        raise RuntimeError(f"{CHP} is missing: run npm install --prefix tests/node (./run-tests does)")
    port, hub_port, api_port = ports
    for user in users:
        lab_settings(root / "home" / user)
    config = root / "jupyterhub_config.py"
    config.write_text(
        _CONFIG.format(
            port=port,
            hub_port=hub_port,
            api_port=api_port,
            root=root,
            chp=str(CHP),
            proxy_token=PROXY_TOKEN,
            password=PASSWORD,
            users=list(users),
            python=sys.executable,
            args=SINGLEUSER_ARGS,
            pythonpath=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])),
            api_token=API_TOKEN,
        )
    )
    log = root / "hub.log"
    env = {**os.environ, "NODE_OPTIONS": f"--require {FORCE_LOOPBACK}"}  # the proxy: loopback only, whatever it asks
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterhub", "-f", str(config)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
        cwd=root,
        start_new_session=True,
    )
    hub = Hub(proc, port, root, log, users)
    deadline = time.monotonic() + 90
    while True:
        try:
            if hub.api("GET", "").status_code == 200:
                return hub
        except httpx2.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            hub.stop()
            raise RuntimeError(f"JupyterHub did not start: {log.read_text()[-3000:]}")
        time.sleep(0.5)
