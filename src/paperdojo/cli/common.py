"""What every command group of the CLI shares: the settings from the flags, the language-model flags,
the Workspace (the one facade over the home's index) and the filters the answering commands use."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from paperdojo.settings import Settings

if TYPE_CHECKING:
    from paperdojo.workspace import Workspace

LLM_FLAGS = {"provider": "llm_provider", "model": "llm_model", "base_url": "llm_base_url",
             "api_key_env": "llm_api_key_env", "temperature": "llm_temperature",
             "max_tokens": "llm_max_tokens", "context_tokens": "llm_context_tokens"}


USER_HELP = "whose progress (default: $PAPERDOJO_USER, else 'local', the progress made before accounts)"


def settings_of(args: argparse.Namespace) -> Settings:
    """The Settings of --home, --user and the language-model flags given (the others from settings /
    env)."""
    llm = {field: getattr(args, flag, None) for flag, field in LLM_FLAGS.items()}
    return Settings.load(home=args.home, user=getattr(args, "user", None), **llm)


def llm_flags() -> argparse.ArgumentParser:
    """--provider and friends, shared by the commands that answer or grade."""
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("language model (default: settings; extractive answers need none)")
    g.add_argument("--provider", choices=["extractive", "openai", "ollama", "llamacpp"])
    g.add_argument("--model", help="model name, or a .gguf file for llamacpp")
    g.add_argument("--base-url", help="e.g. http://127.0.0.1:8080/v1 (llama.cpp server, Ollama's /v1)")
    g.add_argument("--api-key-env", help="name of the env variable holding the API key")
    g.add_argument("--temperature", type=float)
    g.add_argument("--max-tokens", type=positive_int, help="tokens the model may write")
    g.add_argument("--context-tokens", type=positive_int, help="the model's context window")
    return p


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1 (how many passages, sections, questions,
    tokens); anything else is a usage error that says so."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is too small: give 1 or more")
    return value


def port_number(text: str) -> int:
    """An argparse type: a TCP port, 1 to 65535."""
    value = positive_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port: give 1 to 65535")
    return value


def workspace(settings: Settings) -> Workspace:
    """The Workspace over the home the settings name: the index, answerer and grader are loaded on
    first use (store.IndexProblem then when there is none or it is broken). Imported lazily: torch
    is slow to import, and `--help` or `papers` need none of it."""
    from paperdojo.workspace import Workspace

    return Workspace(settings)


def filters_of(args: argparse.Namespace):  # noqa: ANN202
    """The --paper / --category filters as retrieve.Filters (empty: every paper)."""
    from paperdojo.answering.retrieve import Filters

    return Filters(set(args.paper or []), set(args.category or []))

