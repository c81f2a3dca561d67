"""A minimal BROWSER for the conformance suite: GET the URL and follow its redirects.

The suite's authorization server approves at once and redirects to our
callback server; this does what a browser would do with that redirect.
"""

from __future__ import annotations

import sys

import httpx2

if __name__ == "__main__":
    with httpx2.Client(follow_redirects=True, timeout=30) as client:
        response = client.get(sys.argv[1])
    sys.exit(0 if response.status_code < 400 else 1)
