"""A BROWSER command for the tests: real headless Chromium (Debian's), following every redirect.

    BROWSER="python tests/tools/headless_browser.py %s"

Loads the URL in a fresh profile and appends the page it ends on (its DOM)
to $MCPJ_BROWSER_LOG, so a test can see what the person would have seen.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile

# what this machine's closed network and a root user need (and no downloads of anything)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]


def detach() -> None:
    """Leave the kernel's process group: a kernel that shuts down signals its whole group.

    A person's browser outlives the kernel that opened the page; without this,
    a notebook run that ends while Chromium is still loading the callback page
    took the browser down with it and the page was never written.
    """
    try:
        os.setsid()
    except OSError:  # already a session leader
        pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def main(url: str) -> int:
    detach()
    log = os.environ.get("MCPJ_BROWSER_LOG")
    if log:  # first, so a kernel that exits before the page loads still leaves a trace
        with open(log, "a", encoding="utf-8") as fh:
            fh.write("<!-- opened -->\n")
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    profile = tempfile.mkdtemp(prefix="mcpj-chromium-")
    try:
        result = subprocess.run(
            [
                chromium,
                "--headless",
                *CHROMIUM_ARGS,
                f"--user-data-dir={profile}",
                "--virtual-time-budget=5000",
                "--dump-dom",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if log:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(result.stdout + "\n<!-- end of page -->\n")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
