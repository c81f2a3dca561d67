"""A model from a pydantic-ai model string, its API key from the environment or ``.env``, never put into ``os.environ``.

``"openai:gpt-5.1"``, ``"anthropic:claude-sonnet-4-5"``, ``"google-gla:gemini-2.5-pro"``,
``"groq:..."``, ``"mistral:..."``, ``"ollama:..."``: any string pydantic-ai
knows.  For the providers in ``_KEYS`` the key is read from the process
environment or a ``.env`` in the working directory (python-dotenv's values,
which never change ``os.environ``), given to the provider, and remembered as
a secret so that it is masked wherever it could show.  Other providers read
their own environment variables as pydantic-ai does.  ``base_url``
(``%config MCPMagics.model_base_url``) points an OpenAI-compatible model
(``"openai:NAME"``, or a bare ``"NAME"``) at a local server: Ollama, vLLM,
llama.cpp; such a server needs no key.
"""

from __future__ import annotations

import inspect
import os
from typing import Any

from mcpomni_jupyter.errors import ConfigError, McpJupyterError
from mcpomni_jupyter.redact import add_secret

# provider -> the variables its API key may be in, first found wins
_KEYS: dict[str, tuple[str, ...]] = {
    "openai": ("OPENAI_API_KEY",),
    "openai-chat": ("OPENAI_API_KEY",),
    "openai-responses": ("OPENAI_API_KEY",),
    "anthropic": ("ANTHROPIC_API_KEY",),
    "google-gla": ("GOOGLE_API_KEY", "GEMINI_API_KEY"),
    "google": ("GOOGLE_API_KEY", "GEMINI_API_KEY"),
    "groq": ("GROQ_API_KEY",),
    "mistral": ("MISTRAL_API_KEY",),
    "deepseek": ("DEEPSEEK_API_KEY",),
    "openrouter": ("OPENROUTER_API_KEY",),
    "cohere": ("CO_API_KEY",),
    "cerebras": ("CEREBRAS_API_KEY",),
    "fireworks": ("FIREWORKS_API_KEY",),
    "together": ("TOGETHER_API_KEY",),
    "huggingface": ("HF_TOKEN",),
}
_COMPATIBLE = ("openai", "openai-chat", "ollama")  # take a base_url for a local OpenAI-compatible server


class ModelUnavailable(McpJupyterError):
    """No model to run: none configured, or a model string pydantic-ai cannot make a model of."""


class ModelFailed(McpJupyterError):
    """The model's side of an ask failed: its API answered an error, a usage limit was reached, a reply made no sense."""


def model_error(exc: BaseException) -> str:
    """One line for a failure on the model's side, with what to do; redacted (a provider may echo a key)."""
    from mcpomni_jupyter.redact import redact

    status = getattr(exc, "status_code", None)
    body = getattr(exc, "body", None)
    detail = str(body if body is not None else exc) or type(exc).__name__
    first = " ".join(detail.split())[:300]
    what = f"the model answered HTTP {status}" if status else f"the model's run failed ({type(exc).__name__})"
    hint = "check the model name, its key and MCPMagics.model_base_url" if status else "try again, or %%mcp ask --new"
    if type(exc).__name__ == "UsageLimitExceeded":
        what, hint = "the ask reached its usage limit", "ask for less, or split the task"
    return redact(f"{what}: {first}; {hint}")


def require(module: str, what: str) -> Any:
    """Import ``module`` (of pydantic-ai) or raise ``MissingExtra``, one line naming the ``agents`` extra."""
    from mcpomni_jupyter.core.agents.extra import need

    return need(module, "pydantic-ai", what)


def _environment() -> dict[str, str]:
    from mcpomni_jupyter.expansion import expansion_env

    return expansion_env(os.getcwd())


def _provider_factory(base_url: str | None, environ: dict[str, str]) -> Any:
    providers = require("pydantic_ai.providers", "a model")

    def factory(name: str) -> Any:
        cls = providers.infer_provider_class(name)
        params = inspect.signature(cls.__init__).parameters
        kwargs: dict[str, Any] = {}
        key = next((environ[v] for v in _KEYS.get(name, ()) if environ.get(v)), None)
        if key and "api_key" in params:
            add_secret(key)
            kwargs["api_key"] = key
        if base_url and name in _COMPATIBLE and "base_url" in params:
            kwargs["base_url"] = base_url
            if "api_key" in params:
                kwargs.setdefault("api_key", "not-needed")  # a local server takes any key
        return cls(**kwargs) if kwargs else providers.infer_provider(name)

    return factory


def make_model(model: Any, base_url: str | None = None) -> Any:
    """A pydantic-ai ``Model`` for ``model`` (a string, or a ``Model`` as it is); one-line errors."""
    models = require("pydantic_ai.models", "a model")
    if model is None or model == "":
        raise ModelUnavailable(
            'no model is set: %config MCPMagics.model = "openai:gpt-5.1" (any pydantic-ai model string), or --model MODEL'
        )
    if isinstance(model, models.Model):
        return model
    if not isinstance(model, str):
        raise ConfigError(f"a model is a pydantic-ai model string such as 'openai:gpt-5.1', not {type(model).__name__}")
    if base_url and ":" not in model:
        model = f"openai-chat:{model}"  # a bare name on a local OpenAI-compatible server
    elif base_url and model.startswith("openai:"):
        model = "openai-chat:" + model.removeprefix("openai:")  # local servers speak Chat Completions, not Responses
    from pydantic_ai.exceptions import UserError

    try:
        return models.infer_model(model, _provider_factory(base_url, _environment()))
    except (UserError, ValueError) as exc:
        first = str(exc).splitlines()[0].split(". To try")[0][:300]
        raise ModelUnavailable(f"model {model!r}: {first} (the environment and a .env in the working directory are read)") from None
    except ImportError as exc:
        raise ModelUnavailable(
            f"model {model!r} needs {exc.name or 'a package'}: pip install 'pydantic-ai-slim[...]' for that provider"
        ) from None
