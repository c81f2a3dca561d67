"""Skills on the wire: ``skills/list`` (paged), ``skills/get``, and a skill's files read and verified.

A client sends ``skills/list`` and ``skills/get`` only to a server that declares the extension
(``capabilities.extensions["io.modelcontextprotocol/skills"]``); the client declares nothing.  A listing
fetches no file (the extension forbids retrieval ahead of need): ``load`` reads a ``SKILL.md`` when a
skill is asked for, ``read_file`` a supporting file when it is read, each checked against the entry it was
listed with (``entries.verify``), and a verified ``SKILL.md`` is kept with the connection's lists while its
digest is the listed one.  Requests go through the session (``Session.request``: errors mapped once); every
refusal and load is a line in ``%mcp log``.
"""

from __future__ import annotations

import asyncio
import base64
import functools
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from mcpomni_jupyter.core.skills.entries import EXTENSION_ID, SKILL_FILE, SkillEntry, SkillFile, parse_entry, shown, split_skill, verify
from mcpomni_jupyter.errors import LookupFailed, McpJupyterError, ServerError, SkillRefused
from mcpomni_jupyter.results.skills import LoadedSkill

if TYPE_CHECKING:
    from mcpomni_jupyter.core.session.connection import Connection

MAX_PAGES = 50  # skills/list pages followed, at most (a server that keeps sending a cursor is cut off)
MAX_SKILLS = 5_000  # entries kept of one server's listing
LISTED = ("skills", "")
INVALID_PARAMS = -32602  # skills/get of a URI that is no skill  # the key of a connection's last listing in ``catalog.kept``


@functools.cache
def _sdk() -> Any:
    """The request models of the two methods, built on first use (``import mcp`` is too slow for ``%load_ext``)."""
    from typing import Literal

    from mcp_types import PaginatedRequestParams, Request, RequestParams
    from pydantic import TypeAdapter

    class ListSkillsRequest(Request[PaginatedRequestParams | None, Literal["skills/list"]]):
        method: Literal["skills/list"] = "skills/list"
        params: PaginatedRequestParams | None = None

    class GetSkillParams(RequestParams):
        uri: str

    class GetSkillRequest(Request[GetSkillParams, Literal["skills/get"]]):
        method: Literal["skills/get"] = "skills/get"
        params: GetSkillParams

    return SimpleNamespace(
        list=lambda cursor: ListSkillsRequest(params=PaginatedRequestParams(cursor=cursor)),
        get=lambda uri: GetSkillRequest(params=GetSkillParams(uri=uri)),
        answer=TypeAdapter(dict[str, Any]),
    )


def offers_skills(connection: Connection) -> bool:
    caps = connection.capabilities
    return caps is not None and EXTENSION_ID in (getattr(caps, "extensions", None) or {})


def require_skills(connection: Connection) -> None:
    if not offers_skills(connection):
        raise LookupFailed(
            f"server {connection.name!r} offers no skills (it does not declare the {EXTENSION_ID} extension); "
            "see %mcp skills for the servers that do",
            server=connection.name,
        )


async def _send(connection: Connection, request: Any, what: str, timeout: float) -> dict[str, Any]:
    names = _sdk()
    answer: dict[str, Any] = await connection.request(
        lambda c: asyncio.wait_for(c.session.send_request(request, names.answer), timeout), what
    )
    return answer


async def list_skills(connection: Connection, timeout: float) -> list[SkillEntry]:
    """Every entry of ``skills/list`` (pages followed, bounded); kept as the connection's held listing."""
    require_skills(connection)
    entries: list[SkillEntry] = []
    cursor: str | None = None
    seen: set[str] = set()
    for _ in range(MAX_PAGES):
        page = await _send(connection, _sdk().list(cursor), "skills/list", timeout)
        items = page.get("skills")
        if not isinstance(items, list):
            raise ServerError(f"server {connection.name!r} answered skills/list without a skills list; tell its maintainers")
        for item in items[: MAX_SKILLS - len(entries)]:
            entry = parse_entry(connection.name, item)
            if entry is not None:
                entries.append(entry)
        cursor = page.get("nextCursor")
        if not isinstance(cursor, str) or not cursor or cursor in seen or len(entries) >= MAX_SKILLS:
            break
        seen.add(cursor)
    else:
        connection.record("skill", f"skills/list still had pages after {MAX_PAGES}; the rest were not read", "warning")
    connection.catalog.kept[LISTED] = entries
    return entries


def held(connection: Connection) -> list[SkillEntry] | None:
    """The connection's last listing (None: not listed since it connected, or its lists changed)."""
    entries = connection.catalog.kept.get(LISTED)
    return entries if isinstance(entries, list) else None


async def get_skill(connection: Connection, uri: str, timeout: float) -> SkillEntry:
    """The entry of the skill at ``uri`` (``skills/get``): a skill a listing may not show."""
    require_skills(connection)
    try:
        answer = await _send(connection, _sdk().get(uri), "skills/get", timeout)
    except ServerError as exc:
        if exc.code != INVALID_PARAMS:
            raise
        raise LookupFailed(f"server {connection.name!r} serves no skill at {shown(uri)}; see %mcp skills {connection.name}") from None
    entry = parse_entry(connection.name, answer.get("skill"))
    if entry is None or entry.uri != uri:
        raise ServerError(f"server {connection.name!r} answered skills/get for {shown(uri)} without its entry; tell its maintainers")
    return entry


def refuse(connection: Connection, entry: SkillEntry, message: str) -> SkillRefused:
    connection.record("skill", message, "warning")
    return SkillRefused(message, server=connection.name)


async def read_file(connection: Connection, entry: SkillEntry, file: SkillFile, timeout: float) -> bytes:
    """The bytes of ``file`` of ``entry``, read now and checked against its declared size and digest."""
    result = await connection.live().read_resource(file.uri, timeout=timeout)
    contents = [c for c in result.contents if str(getattr(c, "uri", "")) == file.uri] or result.contents[:1]
    if len(contents) != 1:
        raise refuse(connection, entry, f"skill {entry.server}.{entry.name} refused: reading {file.uri} gave no contents for it")
    content = contents[0]
    text, blob = getattr(content, "text", None), getattr(content, "blob", None)
    if isinstance(text, str) and len(text) <= file.size:  # more characters than bytes declared: too long in any encoding
        data = text.encode()
    elif isinstance(blob, str) and len(blob) <= 4 * (file.size // 3 + 1):  # base64 of at most the declared size
        data = base64.b64decode(blob)
    else:  # not there, or over the declared size: not encoded, hashed or decoded
        raise refuse(
            connection,
            entry,
            f"skill {entry.server}.{entry.name} refused: {file.uri} is more than the {file.size} bytes its entry declares; "
            f"it may have changed since it was listed: run %mcp skills {entry.server} and load it again",
        )
    verify_or_refuse(connection, entry, file, data)
    return data


def verify_or_refuse(connection: Connection, entry: SkillEntry, file: SkillFile, data: bytes) -> None:
    try:
        verify(entry, file, data)
    except SkillRefused as exc:
        raise refuse(connection, entry, str(exc)) from None


async def load(connection: Connection, entry: SkillEntry, timeout: float) -> LoadedSkill:
    """The skill of ``entry``: its ``SKILL.md`` read (or kept from a load with the same digest) and verified."""
    main = entry.main
    if entry.problem is not None or main is None:
        why = entry.problem or f"its resources do not list its own {SKILL_FILE}"
        raise refuse(connection, entry, f"skill {entry.server}.{entry.name} refused: {why}; tell the server's maintainers")
    key = ("skill", entry.uri)
    kept = connection.catalog.kept.get(key)
    if isinstance(kept, LoadedSkill) and kept.digest == main.digest:
        return kept
    data = await read_file(connection, entry, main, timeout)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise refuse(connection, entry, f"skill {entry.server}.{entry.name} refused: its {SKILL_FILE} is not UTF-8 text") from None
    try:
        frontmatter, body = split_skill(entry, text)
    except McpJupyterError as exc:
        raise refuse(connection, entry, str(exc)) from None
    others = [f.uri for f in entry.files or () if f.uri != entry.uri]
    skill = LoadedSkill(connection.name, entry.name, entry.uri, main.digest, main.size, frontmatter, body, text, others)
    connection.catalog.kept[key] = skill
    connection.record("skill", f"loaded skill {entry.name} ({entry.uri}, {main.size} bytes, sha256 and frontmatter verified)")
    return skill


def file_of(entry: SkillEntry, path: str) -> SkillFile:
    """The file at ``path`` (relative to the skill's root, or its URI) in the entry: only listed files may be read."""
    root = entry.uri[: -len(SKILL_FILE) - 1]
    uri = path if "://" in path else f"{root}/{path.lstrip('/')}"
    found = next((f for f in entry.files or () if f.uri == uri), None)
    if found is None:
        raise SkillRefused(
            f"skill {entry.server}.{entry.name} lists no file {shown(path)}; an unlisted file is not read "
            f"(its files: {', '.join(shown(f.uri[len(root) + 1 :], 60) for f in (entry.files or [])[:10]) or 'none'})",
            server=entry.server,
        )
    return found
