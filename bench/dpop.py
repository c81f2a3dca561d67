#!/usr/bin/env python
"""A DPoP-bound ``%mcp call`` against a bearer one, on the test OAuth server (issue 19).

    .venv/bin/python bench/dpop.py [--rounds 200] [--batch 5] [--json OUT]

Two ``tests/servers/oauth_server.py --dpop`` processes over streamable HTTP (the server checks
every proof: signature, htm/htu, iat, jti, ath, the token's key), each provisioning the client
``m2m`` for ``client_credentials`` with ``private_key_jwt``.  One in-process IPython shell
(``%load_ext mcpomni_jupyter``) connects to both with the same auth config, except that the
second has ``"dpop": false``: the first gets a DPoP-bound token, the second a bearer one, from
the same server code (a process each, so that neither token store entry is the other's).  Rounds of a batch of ``%mcp call
X.whoami`` on each, the order alternating; the ratio is median DPoP / median bearer (bar: <= 1.10).
Also: the proofs signed per DPoP call (counted on ``Prover.proof``, against the requests the
server saw: one proof per request), the time to sign one proof, and the client CPU per call.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

now, median = time.perf_counter, statistics.median


def _key_files(directory: Path) -> tuple[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    private, public = directory / "m2m.pem", directory / "m2m.pub"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    private.chmod(0o600)
    return str(private), str(public)


def _counting() -> dict[str, int]:
    """Count the proofs this process signs."""
    from mcpomni_jupyter.auth import dpop

    counts = {"proofs": 0}
    sign = dpop.Prover.proof

    def counted(self: Any, *args: Any, **kwargs: Any) -> str:
        counts["proofs"] += 1
        return sign(self, *args, **kwargs)

    dpop.Prover.proof = counted  # type: ignore[method-assign]
    return counts


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (/proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sign_time(n: int = 2000) -> float:
    from mcpomni_jupyter.auth.dpop import Prover, new_key

    prover = Prover(new_key())
    t0 = now()
    for _ in range(n):
        prover.proof("POST", "http://127.0.0.1:8000/mcp", access_token="at-0123456789abcdef")
    return (now() - t0) / n


def bench(rounds: int, batch: int, warmup: int = 30) -> dict[str, Any]:
    import httpx2
    from IPython.core.interactiveshell import InteractiveShell
    from test_auth import OAuthServer

    from mcpomni_jupyter import get_manager

    work = Path(tempfile.mkdtemp(prefix="mcpj-bench-dpop-"))
    private, public = _key_files(work)
    bound, bearer = (
        OAuthServer("--dpop", "--client", "m2m:", "--client-key", public),
        OAuthServer("--client", "m2m:", "--client-key", public),
    )
    counts = _counting()
    shell = InteractiveShell.instance()
    try:
        shell.run_line_magic("load_ext", "mcpomni_jupyter")
        manager = get_manager()
        manager.set_auth_options(token_dir=str(work / "tokens"), open_browser=False)
        for name, server in (("d", bound), ("b", bearer)):
            auth = {
                "method": "client_credentials",
                "client_id": "m2m",
                "private_key_file": private,
                "issuer": server.base,
                "dpop": name == "d",
            }
            manager.add_servers({"mcpServers": {name: {"url": server.url, "timeout": 30, "auth": auth}}})
        status = manager.connect("d", "b", wait=True)
        assert all(status[n].state == "connected" for n in ("d", "b")), [status[n].error for n in ("d", "b")]
        stored = [json.loads(p.read_text())["tokens"]["token_type"] for p in sorted((work / "tokens").glob("*.json"))]
        assert sorted(stored) == ["Bearer", "DPoP"], stored
        variants = {
            "dpop": lambda: shell.run_line_magic("mcp", "call d.whoami"),
            "bearer": lambda: shell.run_line_magic("mcp", "call b.whoami"),
        }
        for fn in variants.values():
            for _ in range(warmup):
                assert not fn().is_error
        times: dict[str, list[float]] = {k: [] for k in variants}
        cpu: dict[str, list[float]] = {k: [] for k in variants}
        proofs0, seen0 = counts["proofs"], len(httpx2.get(f"{bound.base}/test/dpop").json()["proofs"])
        server0 = {"dpop": _cpu_s(bound.proc.pid), "bearer": _cpu_s(bearer.proc.pid)}
        for r in range(rounds):
            for name in list(variants) if r % 2 == 0 else list(variants)[::-1]:
                c0 = time.process_time()
                for _ in range(batch):
                    t0 = now()
                    variants[name]()
                    times[name].append(now() - t0)
                cpu[name].append((time.process_time() - c0) / batch)
        server_cpu = {"dpop": _cpu_s(bound.proc.pid) - server0["dpop"], "bearer": _cpu_s(bearer.proc.pid) - server0["bearer"]}
        signed, seen = counts["proofs"] - proofs0, len(httpx2.get(f"{bound.base}/test/dpop").json()["proofs"]) - seen0
    finally:
        shell.run_line_magic("unload_ext", "mcpomni_jupyter")
        bound.stop()
        bearer.stop()
    calls = rounds * batch
    return {
        "rounds": rounds,
        "batch": batch,
        "dpop_median_us": median(times["dpop"]) * 1e6,
        "bearer_median_us": median(times["bearer"]) * 1e6,
        "ratio": median(times["dpop"]) / median(times["bearer"]),
        "cpu_us": {k: median(v) * 1e6 for k, v in cpu.items()},
        "server_cpu_us": {k: v / (rounds * batch) * 1e6 for k, v in server_cpu.items()},
        "proofs_signed_per_call": signed / calls,
        "requests_seen_by_server_per_call": seen / calls,
        "sign_one_proof_us": sign_time() * 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--batch", type=int, default=5)
    parser.add_argument("--json", metavar="OUT")
    args = parser.parse_args()
    result = bench(args.rounds, args.batch)
    ok = "yes" if result["ratio"] <= 1.10 else "NO"
    print("| Metric | Value | Bar | OK |\n|---|---|---|---|")
    print(f"| DPoP-bound `%mcp call` / bearer | {result['ratio']:.3f}x | <= 1.10 | {ok} |")
    print(f"| DPoP call, median | {result['dpop_median_us']:.0f} µs | | |")
    print(f"| bearer call, median | {result['bearer_median_us']:.0f} µs | | |")
    print(f"| client CPU per call, DPoP / bearer | {result['cpu_us']['dpop']:.0f} / {result['cpu_us']['bearer']:.0f} µs | | |")
    print(
        f"| server CPU per call, DPoP / bearer | {result['server_cpu_us']['dpop']:.0f} / {result['server_cpu_us']['bearer']:.0f} µs | | |"
    )
    one = result["proofs_signed_per_call"] == result["requests_seen_by_server_per_call"]
    print(
        f"| proofs signed per call (requests the server saw) | {result['proofs_signed_per_call']:.2f} ({result['requests_seen_by_server_per_call']:.2f}) | one per request | {'yes' if one else 'NO'} |"
    )
    print(f"| signing one proof | {result['sign_one_proof_us']:.0f} µs | | |")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
