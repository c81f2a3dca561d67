"""What servers ask of us, the manager's side: sampling and elicitation handlers, and the roots offered.

A base class of ``MCPManager`` whose methods are typed against it (``self:
MCPManager``); the answering itself is ``handlers.ServerRequests``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from mcpomni_jupyter.core.requests.handlers import ElicitationHandler

if TYPE_CHECKING:
    from mcpomni_jupyter.core.manager import MCPManager


class RequestMethods:
    """``set_sampling_handler``, ``set_sampling_model``, ``set_elicitation_handler``, ``set_roots``; mixed into ``MCPManager``."""

    def set_sampling_handler(self: MCPManager, handler: Callable[..., Any] | None) -> None:
        """Answer servers' sampling requests with ``handler(messages, params)`` -> str (or a result).

        ``messages`` is a list of ``{"role", "content"}`` dicts; ``params`` the
        SDK's ``CreateMessageRequestParams``.  ``None`` declines them again (or
        hands them to the model set with ``set_sampling_model``: a handler wins).
        """
        self.requests.sampling_handler = handler

    def set_sampling_model(self: MCPManager, model: Any, *, approve: bool = True) -> Any:
        """Answer servers' sampling requests with a model: a pydantic-ai model name (``"anthropic:claude-sonnet-4-5"``,
        ``"openai:gpt-5.1"``, ...) or a pydantic-ai ``Model``; ``None`` stops it.

        Each request is first approved by the person (the spec asks for a
        human in the loop): by the approval handler (``set_approval_handler``:
        ``fn(server, "sampling/createMessage", {"messages", "systemPrompt",
        "maxTokens", ...})``), else in an Approve / Deny row in the cell of a
        top-level-await call; a denial answers the server "the person declined
        the sampling request".  ``approve=False`` skips the approval.  A handler
        set with ``set_sampling_handler`` answers before the model.  Needs
        ``pip install 'mcpomni-jupyter[agents]'``.
        """
        if model is None:
            self.requests.sampling_model = None
            return None
        from mcpomni_jupyter.core.agents.sampling import SamplingModel, resolve_model

        self.requests.sampling_model = SamplingModel(resolve_model(model), self.approval, approve=bool(approve))
        return self.requests.sampling_model

    def set_elicitation_handler(self: MCPManager, handler: ElicitationHandler | None) -> None:
        """Answer servers' questions from code, in every call (blocking ones too), before the notebook's form.

        ``handler(message, schema, defaults)`` (plus ``server=`` if it takes one)
        returns a dict to accept (fields left out get their defaults), ``None``
        or ``"decline"``, ``"cancel"``, or an ``ElicitResult``; an answer that
        does not fit the schema is declined, with a line in ``log()``.  A plain
        function runs on a thread of its own, a coroutine function on the loop.
        Requests to open a page (URL mode) stay the person's.  ``None`` removes it.
        """
        if handler is not None and not callable(handler):
            raise TypeError(f"set_elicitation_handler() takes a function or None, not {type(handler).__name__}")
        self.requests.elicitation_handler = handler

    def set_roots(self: MCPManager, name: str, roots: Iterable[str] | None) -> None:
        """The directories (or file:// URIs) offered to ``name`` as roots; None: the config's, else the cwd."""
        self.connection(name)
        if roots is None:
            self.requests.roots.pop(name, None)
        else:
            self.requests.roots[name] = [str(r) for r in roots]
