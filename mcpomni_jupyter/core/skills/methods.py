"""The skills part of the manager's Python API: list the skills servers offer, load one's instructions on demand.

A base class of ``MCPManager`` (each method typed against it), sync and ``a``-prefixed async.  A skill is named
``SERVER.NAME`` (``NAME`` alone when one connected server has it), by its path (``SERVER.acme/billing/refunds``,
where names collide) or by its ``SKILL.md`` URI (a skill the listing does not show is looked up with
``skills/get``).  Only ``skill`` / ``askill`` (and ``skill_file`` for a supporting file) read a skill's files;
listing reads none.  These are the entry points an agent uses to load a skill when its model asks for one.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from mcpomni_jupyter.core import resolve
from mcpomni_jupyter.core.skills import wire
from mcpomni_jupyter.core.skills.entries import SkillEntry, shown
from mcpomni_jupyter.errors import LookupFailed, ServerConnectionError, did_you_mean
from mcpomni_jupyter.results.skills import LoadedSkill, SkillList

if TYPE_CHECKING:
    from mcpomni_jupyter.core.manager import MCPManager
    from mcpomni_jupyter.core.session.connection import Connection


async def _listing(manager: MCPManager, server: str | None, timeout: float) -> list[SkillEntry]:
    registry, wait = manager.registry, manager.settings.timeout
    if server is not None:
        return await wire.list_skills(await resolve.ready(registry.get(server), wait), timeout)
    connected = await resolve.settle_all(registry, wait)
    if not connected:
        raise ServerConnectionError("no server is connected; run %mcp connect")
    offering = [c for c in connected if wire.offers_skills(c)]
    found = await asyncio.gather(*(wire.list_skills(c, timeout) for c in offering), return_exceptions=True)
    entries: list[SkillEntry] = []
    for connection, result in zip(offering, found):
        if isinstance(result, BaseException):
            if not isinstance(result, Exception):
                raise result
            connection.record("skill", f"skills/list failed: {result}", "warning")  # the other servers' skills still show
            continue
        entries.extend(result)
    return entries


def _pick(connection: Connection, entries: list[SkillEntry], key: str) -> SkillEntry | None:
    """The entry ``key`` names (its URI, its path, or its name when no other has it), or None."""
    for match in ([e for e in entries if e.uri == key], [e for e in entries if e.path == key]):
        if match:
            return match[0]
    named = [e for e in entries if e.name == key]
    if len(named) > 1:
        paths = ", ".join(f"{connection.name}.{e.path}" for e in named[:10])
        raise LookupFailed(f"server {connection.name!r} has {len(named)} skills named {shown(key)}; name one by its path: {paths}")
    return named[0] if named else None


async def _entry_of(connection: Connection, key: str, timeout: float) -> SkillEntry:
    wire.require_skills(connection)
    kept = wire.held(connection)
    found = _pick(connection, kept, key) if kept is not None else None
    if found is None:  # not listed since it connected, or listed before the skill appeared
        entries = await wire.list_skills(connection, timeout)
        found = _pick(connection, entries, key)
        if found is None and "://" in key:
            return await wire.get_skill(connection, key, timeout)  # a skill the listing does not show
        if found is None:
            names = [e.name for e in entries]
            raise LookupFailed(
                f"server {connection.name!r} has no skill {shown(key)}{did_you_mean(key, names)}; see %mcp skills {connection.name}",
                server=connection.name,
            )
    return found


async def _find(manager: MCPManager, spec: str, server: str | None, timeout: float) -> tuple[Connection, SkillEntry]:
    """The connection and entry behind ``[SERVER.]NAME`` (or a path, or a URI)."""
    registry, wait = manager.registry, manager.settings.timeout
    if server is not None:
        connection = await resolve.ready(registry.get(server), wait)
        return connection, await _entry_of(connection, spec, timeout)
    names = registry.snapshot()
    for i, ch in enumerate(spec):  # SERVER.NAME, trying every dot (server names may hold dots)
        if ch == "." and spec[:i] in names and spec[i + 1 :]:
            connection = await resolve.ready(names[spec[:i]], wait)
            return connection, await _entry_of(connection, spec[i + 1 :], timeout)
    entries = await _listing(manager, None, timeout)
    matches = [e for e in entries if spec in (e.name, e.path, e.uri)]
    if len(matches) == 1:
        return registry.get(matches[0].server), matches[0]
    if matches:
        raise LookupFailed(
            f"skill {shown(spec)} is offered by several servers; name one: {', '.join(f'{e.server}.{e.path}' for e in matches[:10])}"
        )
    every = [e.name for e in entries]
    raise LookupFailed(f"unknown skill {shown(spec)}{did_you_mean(spec, every)}; see %mcp skills for the skills of the connected servers")


async def _load(manager: MCPManager, spec: str, server: str | None, timeout: float) -> LoadedSkill:
    connection, entry = await _find(manager, spec, server, timeout)
    return await wire.load(connection, entry, timeout)


async def _file(manager: MCPManager, spec: str, path: str, server: str | None, timeout: float) -> str | bytes:
    connection, entry = await _find(manager, spec, server, timeout)
    file = wire.file_of(entry, path)
    data = await wire.read_file(connection, entry, file, timeout)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data


class SkillMethods:
    """``skills``, ``skill``, ``skill_file`` and their async twins; mixed into ``MCPManager``."""

    def skills(self: MCPManager, server: str | None = None) -> SkillList:
        """The skills of one server, or of every connected server that offers them (no skill file is read)."""
        limit = self.settings.timeout
        return SkillList(self._run(_listing(self, server, limit), self._budget(), "listing skills"))

    async def askills(self: MCPManager, server: str | None = None) -> SkillList:
        """The skills of one server, or of every connected server that offers them (awaitable)."""
        return SkillList(await self.loop.arun(_listing(self, server, self.settings.timeout)))

    def skill(self: MCPManager, name: str, *, server: str | None = None, timeout: float | None = None) -> LoadedSkill:
        """Load ``[SERVER.]NAME``: its ``SKILL.md`` read now and checked (declared size, sha256 digest, frontmatter).

        Returns a ``LoadedSkill`` (``.frontmatter``, ``.body``, ``.text``, ``.context`` for a model); a skill
        that fails a check raises ``SkillRefused`` and nothing of it is used.
        """
        coro = _load(self, name, server, timeout or self.settings.timeout)
        return self._run(coro, self._budget(timeout), f"loading the skill {name!r}")

    async def askill(self: MCPManager, name: str, *, server: str | None = None, timeout: float | None = None) -> LoadedSkill:
        """``skill`` for top-level ``await`` (and for an agent's loop)."""
        return await self.loop.arun(_load(self, name, server, timeout or self.settings.timeout))

    def skill_file(self: MCPManager, name: str, path: str, *, server: str | None = None, timeout: float | None = None) -> Any:
        """A supporting file of a skill (``references/GUIDE.md``), read now and checked; text, or bytes if not UTF-8.

        Only files the skill's entry lists are read: any other is refused.
        """
        coro = _file(self, name, path, server, timeout or self.settings.timeout)
        return self._run(coro, self._budget(timeout), f"reading {path!r} of the skill {name!r}")

    async def askill_file(self: MCPManager, name: str, path: str, *, server: str | None = None, timeout: float | None = None) -> Any:
        """``skill_file`` for top-level ``await``."""
        return await self.loop.arun(_file(self, name, path, server, timeout or self.settings.timeout))
