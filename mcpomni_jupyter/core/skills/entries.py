"""A skill's entry and its ``SKILL.md``, checked: what a server says is untrusted until it matches.

A ``skills/list`` (or ``skills/get``) entry is ``{uri, frontmatter, resources}``: the URI of the skill's
``SKILL.md``, its YAML frontmatter as a JSON object, and ``resources``, either every file of the skill as
``{uri, digest: "sha256:<64 hex>", size}`` or the string ``"dynamic"``.  ``parse_entry`` turns one into a
``SkillEntry`` and says what is wrong with it (``problem``) instead of raising, so a listing shows every
skill; ``verify`` checks the bytes of a ``SKILL.md`` against its entry (size first, before hashing; then the
digest; then its frontmatter, parsed and compared field by field) and raises one ``SkillRefused`` line.

Pure functions: no I/O, no session; ``core/skills/wire.py`` does the requests.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from mcpomni_jupyter.errors import SkillRefused

EXTENSION_ID = "io.modelcontextprotocol/skills"
SKILL_FILE = "SKILL.md"
MAX_SKILL_BYTES = 256 * 1024  # a SKILL.md over this is refused before it is read (it is instructions for a model, not data)
MAX_RESOURCES = 512  # files per skill (the extension's limit)
MAX_TOTAL_BYTES = 16 * 1024 * 1024  # summed over a skill's files (the extension's limit)
MAX_URI_CHARS = 2_048
MAX_NAME_CHARS = 64  # the Agent Skills naming rules
MAX_DESCRIPTION_CHARS = 1_024
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_NAME = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


@dataclass(frozen=True)
class SkillFile:
    """One file of a skill, as its entry declares it."""

    uri: str
    digest: str
    size: int


@dataclass
class SkillEntry:
    """One skill as a server lists it; ``problem`` says why it cannot be loaded (None: it may be)."""

    server: str
    uri: str
    frontmatter: dict[str, Any]
    files: list[SkillFile] | None  # None: "dynamic" (or not a valid list)
    problem: str | None = None
    raw: Any = field(default=None, repr=False)

    @property
    def name(self) -> str:
        value = self.frontmatter.get("name")
        return value if isinstance(value, str) else path_name(self.uri)

    @property
    def description(self) -> str:
        value = self.frontmatter.get("description")
        return value if isinstance(value, str) else ""

    @property
    def path(self) -> str:
        """The skill path: its URI without the scheme and ``/SKILL.md`` (``acme/billing/refunds``)."""
        rest = self.uri.split("://", 1)[-1]
        return rest[: -len(SKILL_FILE) - 1] if rest.endswith("/" + SKILL_FILE) else rest

    @property
    def main(self) -> SkillFile | None:
        """The entry of ``SKILL.md`` itself in ``files``."""
        return next((f for f in self.files or () if f.uri == self.uri), None)


def shown(value: Any, limit: int = 80) -> str:
    """A server's string for a one-line message: cut, and quoted by ``repr`` (control characters escaped)."""
    text = value if isinstance(value, str) else str(value)
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def path_name(uri: str) -> str:
    """The last segment of the skill path of ``uri`` (the skill's name by the extension's rule), or ""."""
    rest = uri.split("://", 1)[-1]
    if not rest.endswith("/" + SKILL_FILE):
        return ""
    return rest[: -len(SKILL_FILE) - 1].rsplit("/", 1)[-1]


def _files(value: Any) -> tuple[list[SkillFile] | None, str | None]:
    if value == "dynamic":
        return None, "its resources are 'dynamic' (no digests to verify its files against), which mcpomni_jupyter does not load"
    if not isinstance(value, list):
        return None, "its entry has no resources list (neither a list of files nor 'dynamic')"
    if len(value) > MAX_RESOURCES:
        return None, f"it has {len(value)} files, over the extension's limit of {MAX_RESOURCES}"
    files = []
    for item in value:
        if not isinstance(item, dict):
            return None, "its resources list holds something that is not a {uri, digest, size} object"
        uri, digest, size = item.get("uri"), item.get("digest"), item.get("size")
        if not isinstance(uri, str) or not uri or len(uri) > MAX_URI_CHARS:
            return None, "one of its files has no valid uri"
        if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
            return None, f"file {shown(uri)} has no valid digest (sha256: and 64 lowercase hex digits)"
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            return None, f"file {shown(uri)} has no valid size"
        files.append(SkillFile(uri, digest, size))
    if sum(f.size for f in files) > MAX_TOTAL_BYTES:
        return None, f"its files add up to more than the extension's limit of {MAX_TOTAL_BYTES // (1024 * 1024)} MiB"
    return files, None


def frontmatter_problem(frontmatter: Any, uri: str) -> str | None:
    """Why ``frontmatter`` (an entry's, or a ``SKILL.md``'s) is not a valid skill's for ``uri``, or None."""
    if not isinstance(frontmatter, dict):
        return "its frontmatter is not an object"
    name, description = frontmatter.get("name"), frontmatter.get("description")
    if not isinstance(name, str) or not name:
        return "its frontmatter has no name"
    if len(name) > MAX_NAME_CHARS or not _NAME.fullmatch(name):
        return f"its name {shown(name)} breaks the Agent Skills naming rules (lowercase letters, digits and single hyphens, at most 64)"
    if not isinstance(description, str) or not description.strip():
        return "its frontmatter has no description"
    if len(description) > MAX_DESCRIPTION_CHARS:
        return f"its description is longer than {MAX_DESCRIPTION_CHARS} characters"
    if path_name(uri) != name:
        return f"its URI {shown(uri)} does not end in /{name}/{SKILL_FILE} (the last segment of a skill's path is its name)"
    return None


def parse_entry(server: str, raw: Any) -> SkillEntry | None:
    """The entry ``raw`` of ``server``'s listing, with its problem if any; None when it has no URI to show."""
    if not isinstance(raw, dict):
        return None
    uri = raw.get("uri")
    if not isinstance(uri, str) or not uri or len(uri) > MAX_URI_CHARS:
        return None
    frontmatter = raw.get("frontmatter")
    problem = frontmatter_problem(frontmatter, uri)
    files, files_problem = _files(raw.get("resources"))
    entry = SkillEntry(server, uri, dict(frontmatter) if isinstance(frontmatter, dict) else {}, files, problem or files_problem, raw)
    if entry.problem is None:
        main = entry.main
        if main is None:
            entry.problem = f"its resources do not list its own {SKILL_FILE}"
        elif main.size > MAX_SKILL_BYTES:
            entry.problem = f"its {SKILL_FILE} is {main.size} bytes, over mcpomni_jupyter's limit of {MAX_SKILL_BYTES // 1024} KiB"
    return entry


# ---------------------------------------------------------------------- verification of what was read


def verify(entry: SkillEntry, file: SkillFile, data: bytes) -> None:
    """``data`` is the file its entry describes: its size, then its digest; a one-line ``SkillRefused`` otherwise."""
    label = f"skill {entry.server}.{entry.name}"
    if len(data) != file.size:
        raise SkillRefused(
            f"{label} refused: {file.uri} is {len(data)} bytes, not the {file.size} its entry declares; "
            f"it may have changed since it was listed: run %mcp skills {entry.server} and load it again",
            server=entry.server,
        )
    if "sha256:" + hashlib.sha256(data).hexdigest() != file.digest:
        raise SkillRefused(
            f"{label} refused: {file.uri} does not match the sha256 digest its entry declares; "
            f"it may have changed since it was listed: run %mcp skills {entry.server} and load it again",
            server=entry.server,
        )


def split_skill(entry: SkillEntry, text: str) -> tuple[dict[str, Any], str]:
    """The frontmatter and body of a ``SKILL.md``; its frontmatter must equal the entry's, field by field."""
    label = f"skill {entry.server}.{entry.name} refused"
    lines = text.split("\n")
    if not lines or lines[0].rstrip("\r") != "---":
        raise SkillRefused(f"{label}: its {SKILL_FILE} does not begin with YAML frontmatter (a --- line); tell the server's maintainers")
    end = next((i for i, line in enumerate(lines[1:], 1) if line.rstrip("\r") == "---"), None)
    if end is None:
        raise SkillRefused(f"{label}: the YAML frontmatter of its {SKILL_FILE} has no closing --- line; tell the server's maintainers")
    fields = load_yaml("\n".join(lines[1:end]), label)
    problem = frontmatter_problem(fields, entry.uri)
    if problem is not None:
        raise SkillRefused(f"{label}: in its {SKILL_FILE}, {problem}; tell the server's maintainers")
    same = {k for k in fields if k in entry.frontmatter and fields[k] == entry.frontmatter[k]}
    differ = sorted({*fields, *entry.frontmatter} - same, key=str)
    if differ:
        names = ", ".join(shown(k, 40) for k in differ[:5])
        raise SkillRefused(
            f"{label}: the frontmatter of its {SKILL_FILE} differs from its listed entry ({names}), so what was listed "
            "is not what would load; tell the server's maintainers"
        )
    return fields, "\n".join(lines[end + 1 :]).lstrip("\n")


def load_yaml(source: str, label: str) -> Any:
    """YAML frontmatter as JSON values: no aliases (a billion laughs), dates kept as the strings written."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_constructor("tag:yaml.org,2002:timestamp", Loader.construct_yaml_str)  # JSON has no dates
    try:
        loader = Loader(source)
        try:
            if any(isinstance(event, yaml.AliasEvent) for event in yaml.parse(source, Loader=Loader)):
                raise SkillRefused(f"{label}: its YAML frontmatter uses aliases (*name), which skills do not need")
            return loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark is not None else ""
        raise SkillRefused(f"{label}: its YAML frontmatter does not parse{where}; tell the server's maintainers") from None
