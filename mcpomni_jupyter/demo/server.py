"""The bundled demo MCP server, spoken over stdio.

    python -m mcpomni_jupyter.demo.server      (or the ``mcpomni-demo-server`` script)

Text and number utilities, a tool that reports progress, one that draws a PNG
bar chart with nothing but the standard library, a resource, a resource
template and a prompt: enough to try every ``%mcp`` command.
"""

from __future__ import annotations

import asyncio
import re
import statistics
import struct
import unicodedata
import zlib

from mcp.server import MCPServer
from mcp.server.mcpserver import Context, Image
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from mcp_types import ToolAnnotations
from typing_extensions import TypedDict

INSTRUCTIONS = (
    "A demo server bundled with mcpomni_jupyter: text utilities (word_count, slugify), "
    "statistics and unit conversion (describe, convert_units), a progress-reporting tool "
    "(slow_count) and a PNG bar chart (bar_chart). Read demo://readme for an overview."
)

# Units as (factor to the base unit); temperature is converted separately.
UNITS: dict[str, dict[str, float]] = {
    "length": {"mm": 0.001, "cm": 0.01, "m": 1.0, "km": 1000.0, "in": 0.0254, "ft": 0.3048, "yd": 0.9144, "mi": 1609.344},
    "mass": {"mg": 1e-6, "g": 0.001, "kg": 1.0, "t": 1000.0, "oz": 0.028349523125, "lb": 0.45359237},
    "temperature": {"c": 1.0, "f": 1.0, "k": 1.0},
}
TEMPERATURE_NAMES = {"c": "degrees Celsius", "f": "degrees Fahrenheit", "k": "kelvin"}

README = """\
mcpomni_jupyter demo server
===========================

Tools
  word_count(text)                      words, lines and characters of a text
  slugify(text, separator="-")          a URL-friendly slug: "Hello, World!" -> "hello-world"
  describe(numbers)                     count, mean, median, stdev, min and max
  convert_units(value, from_unit, to_unit)
                                        length (mm cm m km in ft yd mi), mass (mg g kg t oz lb),
                                        temperature (C F K)
  slow_count(n=5, delay=0.2)            counts to n, reporting progress at every step
  bar_chart(numbers, height=120, bar_width=16)
                                        a PNG bar chart of the numbers (an image result)

Resources
  demo://readme                         this text
  demo://units/{kind}                   the units of one kind: length, mass or temperature

Prompts
  summarize(text, style="bullet points")
"""


class WordCount(TypedDict):
    words: int
    lines: int
    characters: int


class Description(TypedDict):
    count: int
    mean: float
    median: float
    stdev: float
    min: float
    max: float


class Conversion(TypedDict):
    value: float
    unit: str
    kind: str


def _unit_kind(unit: str) -> str:
    for kind, table in UNITS.items():
        if unit in table:
            return kind
    known = "; ".join(f"{kind}: {', '.join(table)}" for kind, table in UNITS.items())
    raise ToolError(f"unknown unit {unit!r}; known units are {known}")


def _to_kelvin(value: float, unit: str) -> float:
    return {"c": value + 273.15, "f": (value - 32) * 5 / 9 + 273.15, "k": value}[unit]


def _from_kelvin(value: float, unit: str) -> float:
    return {"c": value - 273.15, "f": (value - 273.15) * 9 / 5 + 32, "k": value}[unit]


def png_bar_chart(numbers: list[float], height: int = 120, bar_width: int = 16, gap: int = 4) -> bytes:
    """Encode a bar chart of ``numbers`` as an RGB PNG, using only zlib and struct."""
    background, bar, negative, axis = (255, 255, 255), (31, 119, 180), (214, 39, 40), (90, 90, 90)
    width = gap + len(numbers) * (bar_width + gap)
    top, bottom = max(max(numbers), 0.0), min(min(numbers), 0.0)
    span = (top - bottom) or 1.0
    baseline = round((top / span) * (height - 1))  # row of the zero line
    pixels = [[background] * width for _ in range(height)]
    for i, value in enumerate(numbers):
        edge = round(((top - value) / span) * (height - 1))
        y0, y1 = sorted((edge, baseline))
        x0 = gap + i * (bar_width + gap)
        for y in range(y0, y1 + 1):
            pixels[y][x0 : x0 + bar_width] = [bar if value >= 0 else negative] * bar_width
    pixels[baseline] = [axis] * width
    raw = b"".join(b"\x00" + bytes(c for px in row for c in px) for row in pixels)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


# --------------------------------------------------------------------------- the tools, resources and prompt


def word_count(text: str) -> WordCount:
    """Count the words, lines and characters of a text (words are whitespace-separated)."""
    return {"words": len(text.split()), "lines": len(text.splitlines()), "characters": len(text)}


def slugify(text: str, separator: str = "-") -> str:
    """Turn a title into a lowercase, ASCII, URL-friendly slug: "Héllo, World!" -> "hello-world"."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return separator.join(re.findall(r"[a-z0-9]+", ascii_text.lower()))


def describe(numbers: list[float]) -> Description:
    """Summary statistics of a list of numbers: count, mean, median, sample stdev (0 for one number), min, max."""
    if not numbers:
        raise ToolError("describe needs at least one number")
    return {
        "count": len(numbers),
        "mean": statistics.fmean(numbers),
        "median": statistics.median(numbers),
        "stdev": statistics.stdev(numbers) if len(numbers) > 1 else 0.0,
        "min": min(numbers),
        "max": max(numbers),
    }


def convert_units(value: float, from_unit: str, to_unit: str) -> Conversion:
    """Convert a value between units of length (mm cm m km in ft yd mi), mass (mg g kg t oz lb) or temperature (C F K)."""
    source, target = from_unit.strip().lower(), to_unit.strip().lower()
    kind, target_kind = _unit_kind(source), _unit_kind(target)
    if kind != target_kind:
        raise ToolError(f"cannot convert {kind} ({from_unit}) to {target_kind} ({to_unit})")
    if kind == "temperature":
        result = _from_kelvin(_to_kelvin(value, source), target)
    else:
        result = value * UNITS[kind][source] / UNITS[kind][target]
    return {"value": round(result, 10), "unit": to_unit, "kind": kind}


async def slow_count(ctx: Context, n: int = 5, delay: float = 0.2) -> str:
    """Count from 1 to n, waiting `delay` seconds per step and reporting progress at each one."""
    if n < 0 or delay < 0:
        raise ToolError("n and delay must not be negative")
    for i in range(1, n + 1):
        await asyncio.sleep(delay)
        await ctx.report_progress(i, n, f"counted {i} of {n}")
    return f"counted to {n}"


def bar_chart(numbers: list[float], height: int = 120, bar_width: int = 16) -> Image:
    """Draw the numbers as a PNG bar chart (negative values in red below the zero line); returns an image."""
    if not numbers:
        raise ToolError("bar_chart needs at least one number")
    if not (8 <= height <= 1000 and 1 <= bar_width <= 200 and len(numbers) <= 500):
        raise ToolError("keep 8 <= height <= 1000, 1 <= bar_width <= 200 and at most 500 numbers")
    return Image(data=png_bar_chart(numbers, height, bar_width), format="png")


def readme() -> str:
    """What this demo server offers."""
    return README


def units(kind: str) -> str:
    """The units convert_units knows for one kind: length, mass or temperature."""
    if kind not in UNITS:
        raise ResourceNotFoundError(f"unknown kind {kind!r}; try one of: {', '.join(UNITS)}")
    if kind == "temperature":
        return "\n".join(f"{u.upper()}  {name}" for u, name in TEMPERATURE_NAMES.items())
    base = next(u for u, f in UNITS[kind].items() if f == 1.0)
    return "\n".join(f"{u:<3} = {f:g} {base}" for u, f in UNITS[kind].items())


def summarize(text: str, style: str = "bullet points") -> str:
    """Ask a model to summarize a text in a given style (bullet points, one sentence, a haiku...)."""
    return f"Summarize the following text as {style}. Keep the key facts and numbers.\n\n{text}"


def build() -> MCPServer:
    """The demo server: every tool, the two resources and the prompt above."""
    server = MCPServer("demo", instructions=INSTRUCTIONS)
    pure = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)  # a model may run them unasked
    for tool in (word_count, slugify, describe, convert_units, bar_chart):
        server.add_tool(tool, annotations=pure)
    server.add_tool(slow_count)  # no hints: a model's call to it is asked about (see notebooks/agents.ipynb)
    server.resource("demo://readme", name="readme", mime_type="text/plain")(readme)
    server.resource("demo://units/{kind}", name="units", mime_type="text/plain")(units)
    server.prompt()(summarize)
    return server


def main() -> None:
    """Run the demo server over stdio."""
    build().run("stdio")


if __name__ == "__main__":
    main()
