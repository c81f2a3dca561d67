"""How much the OAuth relay adds to an authorization, against the loopback callback, in one run.

A real JupyterLab (this checkout's venv, the relay enabled as an install
enables it), the test authorization server (tests/servers/oauth_server.py,
auto-approving), and headless Chromium (Debian's) as the person.  One
notebook, one OAuth server; each round logs out, connects again (a fresh
authorization: registration kept, new code) and clicks Authorize, with the
redirect coming back through the relay or to the kernel's loopback callback,
alternately.  The figure is the time from the click to the row saying
"authorized and connected": the browser's trip through the authorization
server, the hand-over, the code exchange and the connect.

    .venv/bin/python bench/relay.py [--rounds N] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests")]

from conftest import free_port  # noqa: E402
from test_auth import OAuthServer  # noqa: E402
from tools.headless_browser import CHROMIUM_ARGS  # noqa: E402
from tools.lab import REMOTE_HOST, RESOLVE, open_notebook, run_cell, run_until, start_lab, write_notebook  # noqa: E402


def measure(rounds: int) -> dict:
    from playwright.sync_api import expect, sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="mcpj-relay-bench-"))
    server = OAuthServer()
    lab = start_lab(tmp, free_port())
    times: dict[str, list[float]] = {"relay": [], "loopback": []}
    try:
        setup = "\n".join(
            [
                f"%config MCPMagics.token_dir = {str(tmp / 'tokens')!r}",
                f"%config MCPMagics.callback_port = {free_port()}",
                "%config MCPMagics.open_browser = False",
                f"%mcp add ox {server.url} --auth oauth",
            ]
        )
        round_cell = "%mcp logout ox\n%config MCPMagics.callback = {mode!r}\n%mcp connect ox"
        write_notebook(
            tmp / "bench.ipynb",
            [
                "%load_ext mcpomni_jupyter",
                setup,
                "from mcpomni_jupyter import get_manager\nprint('page:', get_manager().oauth.relay.page)",
                round_cell.format(mode="relay"),
                round_cell.format(mode="loopback"),
            ],
        )
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=[*CHROMIUM_ARGS, RESOLVE])
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            open_notebook(page, lab, "bench.ipynb", host=REMOTE_HOST)
            run_cell(page, 0)
            run_cell(page, 1)
            run_until(page, 2, f"origin='http://{REMOTE_HOST}:")
            for i in range(rounds * 2 + 2):  # the first round of each is a warm-up
                mode = "relay" if i % 2 == 0 else "loopback"
                out = run_cell(page, 3 if mode == "relay" else 4, timeout=90_000)
                row = out.locator(".mcpomni-authorize")
                expect(row).to_contain_text("waiting for authorization", timeout=30_000)
                with context.expect_page() as opened:
                    started = time.perf_counter()
                    row.locator("button", has_text="Authorize").click()
                expect(row).to_contain_text("authorized and connected", timeout=60_000)
                took = time.perf_counter() - started
                opened.value.close()
                if i >= 2:
                    times[mode].append(took)
            browser.close()
    finally:
        lab.stop()
        server.stop()
    relay, loopback = statistics.median(times["relay"]), statistics.median(times["loopback"])
    return {"rounds": rounds, "times_s": times, "relay_s": relay, "loopback_s": loopback, "added_s": relay - loopback}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    out = measure(args.rounds)
    print("| OAuth authorization, click to connected (median) | seconds |")
    print("|---|---|")
    print(f"| loopback callback | {out['loopback_s']:.3f} |")
    print(f"| relay through the Jupyter server | {out['relay_s']:.3f} |")
    ok = "pass" if out["added_s"] < 1.0 else "FAIL"
    print(f"| relay adds (bar < 1 s) | {out['added_s']:+.3f} ({ok}) |")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
