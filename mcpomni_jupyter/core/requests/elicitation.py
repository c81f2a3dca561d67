"""A server's question (elicitation): its schema cut down to the spec's flat subset, answers checked, links checked.

Form mode: the requested schema is reduced to the keywords the spec allows
(no ``$ref`` is ever followed, no ``pattern`` run: a regular expression and a
default, both chosen by the server, could keep the loop thread busy for ever);
defaults that fit their field fill an accepted answer's gaps (SEP-1034); an
answer that does not fit is declined.  URL mode: only a URL
``urls.why_not_secure`` accepts (https, or http to this machine, without user
info, whitespace or control characters, at most ``urls.URL_CHARS`` long); the
host is shown in its ``xn--`` form too.
"""

from __future__ import annotations

import asyncio
import contextvars
import copy
import inspect
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mcpomni_jupyter.core.session.serverlog import clip
from mcpomni_jupyter.urls import split_url, why_not_secure

ELICITATION_TIMEOUT = 600.0  # how long a question may wait for the person (or the notebook's handler)
LINK_SHOW_TIMEOUT = 10.0  # how long the UI may take to show a link
QUESTION_CHARS = 200  # of a question, quoted in the log and in hints
MAX_FIELDS = 100  # of a question's schema; the rest are ignored
MAX_OPTIONS = 500  # of an enum, oneOf or anyOf
# the spec's keywords that are checked here; a ``pattern`` is left to the server: a regular expression and the
# default it is matched against, both chosen by the server, could keep the loop thread busy for ever
_KEYWORDS = frozenset(
    {"type", "title", "description", "default", "const", "enum", "oneOf", "anyOf", "items", "format"}
    | {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "minItems", "maxItems", "uniqueItems"}
)
_ACTIONS = ("accept", "decline", "cancel")


@dataclass
class Caller:
    """Where a top-level-await call came from: the kernel's loop and the cell's context."""

    loop: asyncio.AbstractEventLoop
    context: contextvars.Context


@dataclass(frozen=True)
class Link:
    """A page a server asks the person to open (URL-mode elicitation), its URL checked by ``checked_link``."""

    server: str
    message: str
    url: str
    host: str  # as shown: a non-ASCII host also in its xn-- form, so look-alike letters show
    elicitation_id: str | None = None


def _field(schema: Any, nested: bool = False) -> dict[str, Any]:
    """One field's schema, keeping only the spec's keywords (no $ref, no combinators beyond enum-like oneOf/anyOf)."""
    if not isinstance(schema, dict):
        return {}
    out = {k: v for k, v in schema.items() if k in _KEYWORDS and k not in ("items", "oneOf", "anyOf")}
    if not nested:
        if isinstance(schema.get("items"), dict):
            out["items"] = _field(schema["items"], True)
        for key in ("oneOf", "anyOf"):
            if isinstance(schema.get(key), list):
                out[key] = [_field(option, True) for option in schema[key][:MAX_OPTIONS]]
    if isinstance(out.get("enum"), list):
        out["enum"] = out["enum"][:MAX_OPTIONS]
    return out


def question_schema(requested: Any) -> dict[str, Any]:
    """A requested schema cut down to what the spec allows: a flat object of primitive fields."""
    requested = requested if isinstance(requested, dict) else {}
    properties = requested.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    fields = {str(name): _field(sub) for name, sub in list(properties.items())[:MAX_FIELDS]}
    required = requested.get("required")
    names = [n for n in required if isinstance(n, str) and n in fields] if isinstance(required, list) else []
    return {"type": "object", "properties": fields, "required": names}


def _problem(schema: dict[str, Any], value: Any) -> str | None:
    """Why ``value`` does not fit ``schema`` (one line), or None."""
    import jsonschema

    try:
        error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(value))
    except Exception as exc:  # noqa: BLE001 - a server's schema may be broken in any way (a bad pattern, a bad type)
        return f"the server's schema cannot be checked ({type(exc).__name__})"
    if error is None:
        return None
    where = ".".join(str(p) for p in error.absolute_path)
    return clip(f"{where}: {error.message}" if where else error.message, 300)


def schema_defaults(schema: dict[str, Any]) -> dict[str, Any]:
    """The default of each field of a ``question_schema``, where it fits its own field (a server's bad default is left out)."""
    defaults = {}
    for name, field in schema.get("properties", {}).items():
        if "default" in field and _problem({k: v for k, v in field.items() if k != "default"}, field["default"]) is None:
            defaults[name] = copy.deepcopy(field["default"])
    return defaults


def check_answer(schema: dict[str, Any], content: Any) -> str | None:
    """Why an accepted answer does not fit a ``question_schema`` (one line), or None when it does."""
    if not isinstance(content, dict):
        return f"the answer must be a dict of field values, not {type(content).__name__}"
    fields = schema.get("properties", {})
    unknown = [str(name) for name in content if name not in fields]
    if unknown:
        return clip(f"unexpected field(s) {', '.join(unknown)}; the question asks for {', '.join(fields) or 'nothing'}", 300)
    missing = [name for name in schema.get("required", []) if name not in content]
    if missing:
        return clip(f"missing required field(s) {', '.join(missing)}", 300)
    return _problem(schema, content)


# ---------------------------------------------------------------------- links


def _shown_host(host: str) -> str:
    if host.isascii():
        return host
    try:
        return f"{host.encode('idna').decode('ascii')} ({host})"
    except UnicodeError:
        return host


def checked_link(server: str, message: str, url: str, elicitation_id: Any = None) -> tuple[Link | None, str]:
    """The ``Link`` for a URL a server wants opened, or None and why not: https, or http to this machine, only."""
    problem = why_not_secure(url)
    if problem is not None:
        return None, problem
    host = split_url(url).hostname or ""
    ident = clip(str(elicitation_id), 200) if elicitation_id is not None else None
    return Link(server, str(message), url, _shown_host(host), ident), ""


# ---------------------------------------------------------------------- the notebook's handler


def _in_thread(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> asyncio.Future[Any]:
    """Run ``fn`` on a daemon thread (a hung handler never holds the kernel at exit); a future of its result."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def settle(value: Any, error: BaseException | None) -> None:
        if not future.done():
            future.set_exception(error) if error is not None else future.set_result(value)

    def run() -> None:
        try:
            value, error = fn(*args, **kwargs), None
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting task
            value, error = None, exc if isinstance(exc, Exception) else RuntimeError(repr(exc))
        try:
            loop.call_soon_threadsafe(settle, value, error)
        except RuntimeError:
            pass  # the loop has stopped: nobody waits any more

    threading.Thread(target=run, name="mcpomni-elicitation", daemon=True).start()
    return future


def takes_server(handler: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(handler).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "server" or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


async def run_handler(handler: Callable[..., Any], caller: Caller | None, *args: Any, **kwargs: Any) -> Any:
    """A coroutine function on this loop; a plain one on a thread, in the calling cell's context when known."""
    if inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(type(handler).__call__):
        answer = await handler(*args, **kwargs)
    else:
        context = (caller.context if caller is not None else contextvars.copy_context()).copy()
        answer = await _in_thread(context.run, handler, *args, **kwargs)
    if inspect.isawaitable(answer):
        answer = await answer
    return answer


def as_result(answer: Any) -> Any:
    """The notebook handler's answer as an ``ElicitResult``; raises TypeError (saying what to return) for anything else."""
    from mcp_types import ElicitResult

    if answer is None:
        return ElicitResult(action="decline")
    if isinstance(answer, dict):
        return ElicitResult.model_construct(action="accept", content=dict(answer))
    if isinstance(answer, str) and answer in _ACTIONS:
        return ElicitResult.model_construct(action=answer, content={} if answer == "accept" else None)
    if getattr(answer, "action", None) in _ACTIONS:
        return answer
    raise TypeError(f"it returned {clip(repr(answer), 100)}; return a dict of values, None to decline, 'cancel', or an ElicitResult")
