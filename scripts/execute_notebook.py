"""Execute a notebook in a real kernel (nbclient) and print each cell's source and outputs as text."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

_TAGS = re.compile(r"<[^>]+>")


def text_of(output: dict) -> str:
    if output["output_type"] == "stream":
        return output["text"].rstrip()
    if output["output_type"] == "error":
        return f"{output['ename']}: {output['evalue']}"
    data = output.get("data", {})
    if "text/plain" in data:
        return data["text/plain"].rstrip()
    if "text/html" in data:
        return _TAGS.sub(" ", data["text/html"]).strip()[:500]
    return f"[{', '.join(data)}]"


def main(path: str) -> int:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(Path(path).parent)}})
    failed = False
    try:
        client.execute()
    except CellExecutionError as exc:
        failed = True
        print(f"a cell failed: {str(exc).splitlines()[-1] if str(exc) else exc}", file=sys.stderr)
    for n, cell in enumerate(nb.cells, 1):
        if cell.cell_type != "code":
            continue
        print(f"\n[{n}] {cell.source}")
        for output in cell.get("outputs", []):
            print("    " + text_of(output).replace("\n", "\n    "))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "notebooks/quickstart.ipynb"))
