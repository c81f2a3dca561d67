"""Tool search: the connected servers' tools ranked for a few words (``%mcp tools --search``, later a model's search tool).

``search_tools(entries, query, limit=20)`` ranks ``(server, tool)`` entries
with BM25F over the words of each tool's name (split on ``_ - . /``, spaces,
camelCase and digits, and also kept joined: ``readFile`` -> ``read``,
``file``, ``readfile``), its title (``title`` and ``annotations.title``) and
its description, the name weighing most.  A tool whose name is the query
(ignoring case and separators) gets a large bonus, one whose name starts with
it a smaller one; a query word of three letters or more also matches the
words it begins (``calc`` finds ``calculate``) at half weight, never more
than the word itself would weigh (the joined name words are only matched
whole).  ``SERVER.words`` searches that server's
tools only (``fs.read``; ``fs.`` alone lists them by name).  Ties are broken by
server, then name, so the order is deterministic.

Everything indexed comes from servers and is untrusted: a field that is not
a string is ignored, and only the first ``DESCRIPTION_CHARS`` of a
description (``NAME_CHARS`` of a name or title) are read.  The query is cut
at ``QUERY_CHARS`` and ``QUERY_WORDS`` words.

The index is built once per catalog, not per query: ``index_for`` keeps the
last few indexes keyed on the entries' servers and the identity of their tool
objects (a re-listing makes new ones), holding those objects so that an
identity is not reused while its index lives.  Pure: no I/O, no MCP SDK.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import gc
import heapq
import math
import re
import threading
from array import array
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mcpomni_jupyter.errors import ArgumentError

NAME_CHARS = 256  # of a tool's name or title that is indexed
DESCRIPTION_CHARS = 2_000  # of a tool's description that is indexed (a hostile one may be megabytes)
QUERY_CHARS = 1_000
QUERY_WORDS = 32
WEIGHTS = (3.0, 2.0, 1.0)  # name, title, description
K1, B = 1.2, 0.75  # BM25's term saturation and length normalisation
EXACT_BONUS = 10.0  # the tool's name is the query
PREFIX_BONUS = 3.0  # the tool's name starts with the query
PREFIX_MIN = 3  # a query word this long also matches the longer words it begins...
PREFIX_WORDS = 50  # ...the shortest this many of them...
PREFIX_FACTOR = 0.5  # ...at this weight
CACHED_INDEXES = 4

_CHUNK = re.compile(r"[^\W_]+")  # letters and digits, split on everything else (``_`` included)
_CAMEL = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")  # HTTPServer2 -> HTTP, Server, 2
_NOT_ALNUM = re.compile(r"[\W_]+")
_LAST = chr(0x10FFFF)


@dataclass(frozen=True)
class ToolHit:
    """One ranked tool: its server, its name, its score (higher is better), and the tool as listed."""

    server: str
    name: str
    score: float
    tool: Any = field(repr=False, compare=False)


def search_tools(entries: Iterable[tuple[str, Any]] | ToolIndex, query: str, limit: int = 20) -> list[ToolHit]:
    """The tools that best match ``query``, best first: at most ``limit`` ``ToolHit`` s.

    ``entries``: ``(server name, tool)`` pairs, where a tool is an MCP ``Tool``
    (or a dict of one) with ``name``, ``title``, ``description`` and
    ``annotations.title``; or a ``ToolIndex`` built from such pairs.  The
    index of a list of entries is built on the first search and reused while
    the same tool objects are passed.  ``query``: words, optionally after
    ``SERVER.`` to search one server.  An empty query (or a ``limit`` below
    1) is a one-line ``ArgumentError``; no match is an empty list.
    """
    index = entries if isinstance(entries, ToolIndex) else index_for(entries)
    return index.search(query, limit)


def check_search(query: Any, limit: Any = 20) -> None:
    """A one-line ``ArgumentError`` for a query or limit that ``search_tools`` cannot take (to check before listing)."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ArgumentError(f"the search limit must be a whole number of at least 1 (got {str(limit)[:40]!r})")
    if not isinstance(query, str) or not query.strip():
        raise ArgumentError("the search text is empty: give a few words to look for, as in 'read file' or 'fs.read'")


def words(text: str) -> list[str]:
    """The search words of ``text``: lower-case, split on separators, camelCase and digits, plurals made singular."""
    if text.isascii():  # the common case, in one pass: a C-level map over the regex's words, each normalised once
        return list(map(_normal, _CAMEL.findall(text)))
    out: list[str] = []
    for chunk in _CHUNK.findall(text):
        parts = _CAMEL.findall(chunk) if chunk.isascii() else [chunk]
        out += map(_normal, parts)
    return out


def joined_words(name: str, split: list[str] | None = None) -> list[str]:
    """A name's split words joined again (``get_readFile`` -> ``readfile``, ``getreadfile``), so that a query written solid finds it.

    ``split``: ``words(name)`` when already known.
    """
    split = words(name) if split is None else split
    out = [_normal(chunk) for chunk in _CHUNK.findall(name) if chunk.isascii() and len(_CAMEL.findall(chunk)) > 1]
    whole = "".join(split)
    return list(dict.fromkeys([w for w in [*out, whole] if w and w not in split]))


@functools.lru_cache(maxsize=65_536)
def _normal(word: str) -> str:
    """``word`` as indexed: lower-case, singular (``Files`` -> ``file``)."""
    return _stem(word.lower())


@functools.lru_cache(maxsize=65_536)
def _stem(word: str) -> str:
    """A plural's singular, roughly (``files`` -> ``file``, ``entries`` -> ``entry``), the same for tools and queries."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _compact(text: str) -> str:
    return _NOT_ALNUM.sub("", text.lower())


def _get(tool: Any, key: str) -> Any:
    if type(tool) is dict or (not hasattr(tool, key) and isinstance(tool, Mapping)):  # a Mapping check is slow: a tool object first
        return tool.get(key)
    return getattr(tool, key, None)


def _text(value: Any, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _fields(tool: Any) -> tuple[list[str], list[str], list[str], list[str]]:
    """The words of a tool's name, title and description, each field bounded; and the name's joined words."""
    annotations = _get(tool, "annotations")
    titles = {_text(_get(tool, "title"), NAME_CHARS), _text(_get(annotations, "title") if annotations is not None else None, NAME_CHARS)}
    name = _text(_get(tool, "name"), NAME_CHARS)
    split = words(name)
    return split, words(" ".join(sorted(titles))), words(_text(_get(tool, "description"), DESCRIPTION_CHARS)), joined_words(name, split)


class ToolIndex:
    """A search index over ``(server, tool)`` entries: built once, searched many times (``search``)."""

    def __init__(self, entries: Iterable[tuple[str, Any]]) -> None:
        self.entries: list[tuple[str, Any]] = [(s if isinstance(s, str) else str(s), t) for s, t in entries]
        self._servers = [s for s, _ in self.entries]
        self._names = [n if isinstance(n := _get(t, "name"), str) else "" for _, t in self.entries]
        self._by_server: dict[str, list[int]] = {}
        for doc, server in enumerate(self._servers):
            self._by_server.setdefault(server.lower(), []).append(doc)
        self._postings: dict[str, tuple[array[int], array[float]]] = {}  # word -> (docs, the word's BM25F saturation in each)
        with _collector_paused():
            self._build([_fields(t) for _, t in self.entries])
        self._compact_names = sorted((_compact(n[:NAME_CHARS]), doc) for doc, n in enumerate(self._names))

    def __len__(self) -> int:
        return len(self.entries)

    def _build(self, fields: list[tuple[list[str], list[str], list[str], list[str]]]) -> None:
        n = max(len(fields), 1)
        # the joined words count as name words; they are matched whole, never as a query word's longer form
        expandable: set[str] = set()
        for name, title, description, _ in fields:
            expandable.update(name, title, description)
        indexed = [(name + joined, title, description) for name, title, description, joined in fields]
        averages = [max(sum(len(f[i]) for f in indexed) / n, 1.0) for i in range(3)]
        docs_of: defaultdict[str, list[int]] = defaultdict(list)  # word -> the tools it is in...
        saturations_of: defaultdict[str, list[float]] = defaultdict(list)  # ...and its BM25F saturation in each
        for doc, doc_fields in enumerate(indexed):
            weighted: dict[str, float] = {}
            for weight, average, field_words in zip(WEIGHTS, averages, doc_fields):
                if not field_words:
                    continue
                norm = weight / (1 - B + B * len(field_words) / average)
                if weighted:
                    for word, count in Counter(field_words).items():
                        weighted[word] = weighted.get(word, 0.0) + count * norm
                else:
                    weighted = {word: count * norm for word, count in Counter(field_words).items()}
            for word, tf in weighted.items():
                docs_of[word].append(doc)
                saturations_of[word].append(tf * (K1 + 1) / (K1 + tf))
        # compact arrays: a few bytes per (word, tool), nothing for the garbage collector to walk
        self._postings = {w: (array("i", d), array("d", saturations_of[w])) for w, d in docs_of.items()}
        self._idf = {w: math.log(1 + (len(fields) - len(d) + 0.5) / (len(d) + 0.5)) for w, d in docs_of.items()}
        self._vocabulary = sorted(expandable)

    def search(self, query: str, limit: int = 20) -> list[ToolHit]:
        """The best ``limit`` matches for ``query`` (see ``search_tools``)."""
        check_search(query, limit)
        text, docs = self._narrow(query[:QUERY_CHARS].strip())
        terms = list(dict.fromkeys(words(text)))[:QUERY_WORDS]
        if not terms:
            if docs is None:
                raise ArgumentError(f"the search text {query[:80]!r} has no words to look for: give letters or digits")
            return self._ranked(dict.fromkeys(docs, 0.0), limit)  # "fs.": that server's tools, by name
        scores = self._scores(terms)
        for doc, bonus in self._name_bonus(_compact(text)):
            if doc in scores:
                scores[doc] += bonus
        if docs is not None:
            allowed = set(docs)
            scores = {d: s for d, s in scores.items() if d in allowed}
        return self._ranked(scores, limit)

    def _narrow(self, query: str) -> tuple[str, list[int] | None]:
        """(the words to search, the docs of the server named by a ``SERVER.`` prefix, else None)."""
        first = query.split(None, 1)[0]
        for dot in sorted((i for i, c in enumerate(first) if c == "."), reverse=True):  # the longest server name first
            docs = self._by_server.get(first[:dot].lower())
            if docs is not None:
                return query[dot + 1 :], docs
        return query, None

    def _scores(self, terms: list[str]) -> dict[int, float]:
        scores: dict[int, float] = {}
        for term in terms:
            best: dict[int, float] = {}
            for word, weight in self._expand(term):
                docs, saturations = self._postings[word]
                for doc, saturation in zip(docs, saturations):
                    score = weight * saturation
                    if score > best.get(doc, 0.0):
                        best[doc] = score
            for doc, score in best.items():
                scores[doc] = scores.get(doc, 0.0) + score
        return scores

    def _expand(self, term: str) -> list[tuple[str, float]]:
        """(indexed word, its weight) for what ``term`` matches: itself, and when long enough the shortest words it begins.

        A longer word weighs ``PREFIX_FACTOR`` of its IDF, and never more than
        ``term`` itself would: a rare word is no reason to rank a prefix first.
        """
        idf = self._idf.get(term)
        found = [(term, idf)] if idf is not None else []
        if len(term) >= PREFIX_MIN:
            start = bisect.bisect_right(self._vocabulary, term)
            end = bisect.bisect_left(self._vocabulary, term + _LAST, start)
            longer = self._vocabulary[start:end]
            if len(longer) > PREFIX_WORDS:
                longer = heapq.nsmallest(PREFIX_WORDS, longer, key=lambda w: (len(w), w))
            found += [(word, PREFIX_FACTOR * min(self._idf[word], idf or math.inf)) for word in longer]
        return found

    def _name_bonus(self, compact: str) -> list[tuple[int, float]]:
        """(doc, bonus) for each tool whose name is (or starts with) the query, ignoring case and separators."""
        if not compact:
            return []
        start = bisect.bisect_left(self._compact_names, (compact,))
        end = bisect.bisect_left(self._compact_names, (compact + _LAST,), start)
        return [(doc, EXACT_BONUS if name == compact else PREFIX_BONUS) for name, doc in self._compact_names[start:end]]

    def _ranked(self, scores: dict[int, float], limit: int) -> list[ToolHit]:
        # rounded, so that float noise cannot reorder tools that score the same; then server, name, listing order
        best = heapq.nsmallest(limit, scores.items(), key=lambda ds: (-round(ds[1], 6), self._servers[ds[0]], self._names[ds[0]], ds[0]))
        return [ToolHit(self._servers[d], self._names[d], round(s, 6), self.entries[d][1]) for d, s in best]


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No garbage-collector passes during a build: it makes a few hundred thousand objects, all kept or freed
    at once by reference counting (no cycles), and each full pass would walk the whole process's objects again."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


_cache: OrderedDict[tuple[tuple[str, ...], tuple[int, ...]], ToolIndex] = OrderedDict()
_lock = threading.Lock()


def index_for(entries: Iterable[tuple[str, Any]]) -> ToolIndex:
    """The index of ``entries``: a cached one when the same tool objects (on the same servers) were indexed lately."""
    pairs: Sequence[tuple[str, Any]] = entries if isinstance(entries, (list, tuple)) else list(entries)
    key = (tuple(str(s) for s, _ in pairs), tuple(id(t) for _, t in pairs))
    with _lock:
        index = _cache.get(key)
        if index is not None:
            _cache.move_to_end(key)
            return index
    index = ToolIndex(pairs)  # outside the lock: a build may take a while; two builds of one catalog are harmless
    with _lock:
        _cache[key] = index
        while len(_cache) > CACHED_INDEXES:
            _cache.popitem(last=False)
    return index
