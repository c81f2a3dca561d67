"""A server's lifecycle state, and the named time margins the lifecycle uses."""

from __future__ import annotations

import enum


class State(enum.StrEnum):
    """Where a server is: the manager's observers (the status panel) see every change."""

    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    AUTH_REQUIRED = "auth required"
    CONNECTED = "connected"
    FAILED = "failed"

    def __str__(self) -> str:
        return str(self.value)


# Margins, in seconds.  The loop thread enforces every real limit (a server's
# "timeout", a request's --timeout); the kernel's thread waits a little longer
# than that, so that it hears the loop thread's own answer (a clear error)
# rather than giving up first, yet never waits forever.
SETTLE_GRACE = 5.0  # beyond a server's timeout, for its owner task to report connected or failed
HOP_GRACE = 15.0  # beyond the work's own limits, for the kernel's thread waiting on the loop thread
STOP_TIMEOUT = 10.0  # for an owner task to close its session and transport when asked
STOP_GRACE = 5.0  # after cancelling an owner task that did not stop in time
STOP_BUDGET = STOP_TIMEOUT + STOP_GRACE + HOP_GRACE  # the kernel's thread waiting for a server to stop
SHUTDOWN_TIMEOUT = 20.0  # for every connection to close at kernel exit
