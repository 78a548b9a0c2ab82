"""One typed settings object, read from flags > env (PAPERDOJO_*) > paperdojo.toml > defaults.

Everything that touches disk, the network or a model gets a `Settings` passed in; nothing reads
the environment on its own, so tests and users can keep several corpora apart by `home`.
"""

from __future__ import annotations

import logging
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BUNDLED_MODEL = "bundled:all-MiniLM-L6-v2"


def _default_home() -> Path:
    """The project folder when run from a checkout, else a per-user folder."""
    if (PROJECT_ROOT / "pyproject.toml").exists():
        return PROJECT_ROOT
    return Path.home() / ".local" / "share" / "paperdojo"


log = logging.getLogger(__name__)


def config_file(home: Path | str | None = None) -> Path:
    """The settings file read: $PAPERDOJO_CONFIG when set, else paperdojo.toml in `home` (the --home
    flag's folder), else in $PAPERDOJO_HOME, else in the default home. It need not exist."""
    explicit = os.environ.get("PAPERDOJO_CONFIG")
    if explicit:
        return Path(explicit)
    if home is None:
        env_home = os.environ.get("PAPERDOJO_HOME")
        home = Path(env_home) if env_home else _default_home()
    return Path(home).expanduser() / "paperdojo.toml"


def _check_config_file(path: Path, known: set[str]) -> None:
    """Raise ValueError naming `path` when it is not valid TOML; log a warning for each key that is
    no setting (a misspelt knob would else be ignored without a word)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return
    except NotADirectoryError as exc:  # --home names a file: say that, not the settings file's errno
        raise ValueError(f"the home {path.parent} is a file, not a folder: give --home (or "
                         "PAPERDOJO_HOME) the folder that holds index/ and ingest/") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read the settings file {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"the settings file {path} is not valid TOML: {exc}") from exc
    for key in sorted(set(data) - known):
        log.warning("%s: '%s' is no setting, ignored (the settings are the fields of paperdojo/settings.py)",
                    path, key)


def _validation_message(exc: ValidationError, path: Path) -> str:
    """One line per bad setting: its name, the value given and what it should be, and where
    settings come from."""
    bad = [f"{'.'.join(map(str, e['loc']))} = {e.get('input')!r}: {e['msg']}" for e in exc.errors()]
    return (f"bad setting{'s' if len(bad) > 1 else ''}: " + "; ".join(bad) +
            f" (from a flag, a PAPERDOJO_* variable or {path})")


class Settings(BaseSettings):
    """All knobs of paperdojo. `home` holds `ingest/` (download cache) and `index/`."""

    model_config = SettingsConfigDict(env_prefix="PAPERDOJO_", extra="ignore")

    home: Path = Field(default_factory=_default_home)
    reading_list: Path = PROJECT_ROOT / "ingest" / "papers.toml"

    # embedding and chunking
    embed_model: str = BUNDLED_MODEL
    # auto, for the bundled model: torch-bf16 in bulk on a CPU with AMX, else the int8 ONNX MiniLM
    # (queries always go through ONNX then); sentence-transformers (float32) for other models
    embed_backend: Literal["auto", "torch", "onnx-int8", "torch-bf16"] = "auto"
    embed_workers: int = 2  # processes embedding in bulk (onnx-int8, torch-bf16): one thread each
    embed_batch_size: int = 64  # torch backend
    device: str = "cpu"
    chunk_tokens: int = 192  # body tokens per chunk, capped by the model's input limit
    chunk_overlap_tokens: int = 0  # whole sentences carried over, up to this many tokens (see README)
    embed_with_heading: bool = True  # prefix "title / section" to the embedded text

    # retrieval
    index_type: Literal["auto", "flat", "hnsw", "ivfpq"] = "auto"  # auto: by corpus size (store.index_kind)
    bm25_weight: float = 0.5  # fused score = cosine + bm25_weight * BM25 / best BM25 of the query
    intro_prior: float = 0.05  # added to abstract/introduction passages (overview answers)
    # added to acknowledgements and artifact appendices (retrieve.BACK_MATTER): "What is the difference
    # between TASO and PET?" drew on PET's artifact appendix (shell commands, "This experiment reproduces
    # Figure 13"), which names both more than any section (docs/measurements.md, "Back matter")
    back_matter_prior: float = -0.3
    compound_intro_boost: float = 0.5  # the prior grows by this share per extra part of a question
    neighbour_weight: float = 0.2  # a chunk gains this share of its better neighbour's score (same section)
    paper_boost: float = 0.1  # added to the passages of the papers a question names (by id or title)
    # with an ANN index (from 200k passages), the best BM25 chunks scored exactly beside the ANN's
    # candidates: recall@10 against exact hybrid search at 1M synthetic passages 0.94 with 1,000,
    # 0.98 with 3,000, 0.99 with 5,000, for +5-10 ms of a ~30 ms query (docs/measurements.md, issue 19)
    lexical_candidates: int = 3000
    # a longer question is refused with a message: the dev sets' longest is 358 characters, a
    # pasted 320,000-character "question" took 11 s of CPU to answer (h12break)
    max_question_chars: int = 4000
    merge_chunks: int = 2  # neighbouring hits of one section make one passage of up to this many chunks
    reranker: str = ""  # a cross-encoder name or folder (sentence-transformers); empty: none
    min_similarity: float = 0.25  # floor for off-topic questions; dev.jsonl answerables start at 0.55
    # below this best cosine, refused unless the best passage holds every content term of the question
    # and every pair of them in a row (its phrases): "What is speculative decoding?" (0.32; no passage
    # has the two words in a row) is refused, "Explain RadixAttention." (0.27) is not. Calibrated on
    # bench/refusal_probe.jsonl (short questions: unanswerables missing a phrase at 0.30-0.34) and the
    # app test's "How does TVM fuse operators?" (answerable, 0.36, "operator fusion" in the paper): a
    # margin of 0.01 on either side. dev.jsonl answerables start at 0.54, dev2.jsonl's at 0.44, so
    # neither moves (docs/measurements.md, issue 13 item 3)
    min_similarity_held: float = 0.35
    # below this best cosine, a question of at most `phrase_terms` content terms is refused when one of
    # its phrases (two content words in a row) is in no indexed text, in any spelling of a compound:
    # "eli5 how does speculative decoding work" (0.38; SGLang has "speculative" and "decoding" apart).
    # Chosen on bench/refusal_probe2.jsonl's half A with dev, dev2 and refusal_probe.jsonl: answerable
    # short questions with such a phrase start at 0.47 ("how does timeloop estimate energy"), 0.52 on
    # "what is prefix caching?"; the held floor stays below (docs/measurements.md, h13refuse)
    min_similarity_phrase: float = 0.40
    phrase_terms: int = 3  # a longer question's word pairs are mostly its wording ("glow pick")
    # the held floor (`min_similarity_held`) does not ask for a term in more than this share of the
    # chunks: a short question's plain word ("cost", "speed") is rarely the paper's word ("communication
    # volume", "throughput"). 0.05: "cost" (7.6% of the 27 PDFs' chunks) and "decoding" (11%) are left
    # out, "stage" (4.9%), "speculative", "autotuning" are not; rare terms and phrases still are asked for.
    # No question of dev, dev2, heldout or the two refusal probes moves (docs/measurements.md, h13refuse)
    held_common_share: float = 0.05
    # a definition question ("What is X?") whose top 2 passages define nothing looks this deep for a
    # passage with a sentence defining X, which then leads (leads.Leads.definition_lead). 20: dev MRR
    # 0.884 -> 0.900 (dev-029 from rank 3 to 1), dev2, heldout, heldout2 unchanged; 0 turns it off
    # (docs/measurements.md, "Definition questions draw on the defining passage")
    define_pool: int = 20
    # a question asking for limitations ("What are the drawbacks of TASO?") gets first the best passage of
    # its paper's section on them ("Limitations", "Discussion"; for "future work" also "Future work"),
    # which ranked 9th-46th (leads.Leads.limits_lead; docs/measurements.md, "Limitation questions")
    limits_first: bool = True
    # a question that names papers or systems and asks nothing else of them ("How does Orca differ from
    # vLLM?", "TVM vs Ansor?") gets first each one's abstract (leads.Leads.overview_lead;
    # docs/measurements.md, "Questions that only name their papers")
    overview_first: bool = True
    # refuse below this coverage + 0.5 * cosine (answering.answer.Answerer.support); calibrated on the
    # 12 unanswerable and 100 answerable questions of dev.jsonl + dev2.jsonl (docs/measurements.md)
    min_support: float = 0.59
    # refusal by `Answerer.grasp` (best cosine + `held` - unheld_weight x the IDF share of the asking
    # sentences' specific words that no top passage holds, each weighed by how far its wordfreq Zipf
    # frequency is below unheld_zipf), for a question that names no paper of the library: questions near
    # a covered topic whose asked-for thing is in no passage ("a pushdown automaton" near SGLang's FSM
    # decoding, "salient weight channels" near quantization). Chosen on dev.jsonl + dev2.jsonl +
    # bench/refusal_probe2.jsonl's half A + bench/heldout.jsonl: zipf 5.0 (everyday English, "big",
    # "find", weighs nothing); the weight 0.3 in the middle of the run of weights (0.2-0.5) that refuse
    # the most there; the floor the highest with no answerable refused (dev2-055 at 0.600, the next
    # pair at 0.611: an unanswerable and held-014, answerable, which no floor tells apart). 0: off.
    # (docs/measurements.md, h14refuse)
    unheld_zipf: float = 5.0
    unheld_weight: float = 0.3
    min_grasp: float = 0.605
    # refusal's coverage (`Retriever.coverage`): a question's term of at least this many letters is
    # also held by a passage word it begins ("params" by "parameters"); 0: off. 5 as the extractive
    # answer's derived terms (extract.Selection.derived); 4 also let "grad", "link", "cross" match
    # other words (heldout.jsonl: a false refusal passing the threshold by 0.001). docs/measurements.md
    min_shortened_letters: int = 5
    # a query word of at least `respell_letters` letters in no indexed text, and rare in English (wordfreq
    # Zipf < `respell_max_zipf`: "libary" 1.5, "diffrence" 1.6; real words such as "automaton" 2.7 and
    # "grads" 2.9 are left alone), is also searched as the indexed word one edit away (a letter dropped,
    # added, changed or two swapped) that is at least `respell_margin` Zipf more common ("library" 4.9);
    # a British spelling ("tensorise", "neighbouring") as the American one the papers use. h14held3
    respell_letters: int = 5
    respell_max_zipf: float = 2.0
    respell_margin: float = 2.0

    # language model (none by default: answers are extractive)
    llm_provider: Literal["extractive", "openai", "ollama", "llamacpp"] = "extractive"
    llm_model: str = ""  # empty: the provider's default (see paperdojo.answering.llm.DEFAULT_MODELS)
    llm_base_url: str = ""  # openai: empty means OpenAI itself; ollama: empty means 127.0.0.1:11434
    llm_api_key_env: str = "OPENAI_API_KEY"  # the name of the env variable holding the key
    llm_temperature: float = 0.1
    llm_max_tokens: int = 320  # tokens the model may write per answer
    llm_context_tokens: int = 2048  # the model's context window: passages are fitted into it
    llm_timeout_s: float = 60.0

    eval_external: Path = PROJECT_ROOT.parent / "shared" / "eval-external"

    # interviews
    questions_file: Path = PROJECT_ROOT / "ingest" / "questions.toml"
    data_dir: Path | None = None  # progress (SQLite) and the users file; default <home>/userdata
    # where every user's progress lives: empty = SQLite in data_dir; "postgresql://user:pw@host/db" =
    # PostgreSQL (psycopg 3; the `postgres` extra), for several app processes serving one home
    progress_url: str = ""
    user: str = "local"  # whose progress the CLI reads and writes (PAPERDOJO_USER, --user); app: the login

    # the app
    app_host: str = "127.0.0.1"
    app_port: int = 7860
    app_concurrency: int = 2  # answers computed at once (CPU-bound); more queue up
    app_pdf_dirs: list[Path] = []  # local PDF folders the app's "build index" also takes
    watch_dirs: list[Path] = []  # folders the app keeps the library in step with (app.py --watch)
    auth: str = ""  # "user:password" (single user); a login is required when app_host is not loopback
    app_read_only: bool = False  # serve the index without writing to it (add / rebuild / watch refused)
    max_upload_mb: int = 50
    # how long a reader waits for a newer index generation another thread is loading (a load takes
    # well under a second; past this the loaded one answers and the switch comes with a later call)
    generation_wait_s: float = 30.0

    # downloads
    http_timeout: float = 30.0
    http_retries: int = 3
    http_deadline: float = 900.0  # seconds one download attempt may take in all: a server that trickles
    # its body never trips http_timeout (which bounds each read), so the whole download is bounded too
    http_concurrency: int = 4
    max_download_mb: int = 200
    retry_failed_after_s: int = 3600  # a failed download is not retried before this, unless asked
    user_agent: str = "paperdojo/0.1 (study assistant; +https://github.com/paperdojo)"

    # parsing
    parse_workers: int = 1  # worker processes parsing PDFs while the main process embeds
    ocr: bool = True  # read PDF pages without a text layer by OCR (offline); PAPERDOJO_OCR=0 turns it off

    @property
    def ingest_dir(self) -> Path:
        """<home>/ingest: downloads, dropped PDFs, the user's library and the logs."""
        return self.home / "ingest"

    @property
    def pdf_dir(self) -> Path:
        """Where downloaded PDFs live, and where a user drops a paywalled paper's PDF."""
        return self.ingest_dir / "pdfs"

    @property
    def pages_dir(self) -> Path:
        """Downloaded non-PDF documents (HTML posts, READMEs)."""
        return self.ingest_dir / "pages"

    @property
    def library_file(self) -> Path:
        """Papers the user added (`paperdojo add`, `--pdf-dir`), beside the shipped reading list."""
        return self.ingest_dir / "library.toml"

    @property
    def watched_file(self) -> Path:
        """The folders `paperdojo watch` keeps the library in step with (their coverage is shown)."""
        return self.ingest_dir / "watched.json"

    @property
    def fetch_log(self) -> Path:
        """When each download last failed and why (failures are retried after an hour)."""
        return self.ingest_dir / "fetch-log.json"

    @property
    def progress_db(self) -> Path:
        """The SQLite file of interview progress (in data_dir when set, else <home>/userdata)."""
        return (self.data_dir or self.home / "userdata") / "progress.sqlite"

    @property
    def users_file(self) -> Path:
        """The accounts (`paperdojo users add`): Argon2 hashes, mode 0600. No accounts: single user."""
        return (self.data_dir or self.home / "userdata") / "users.json"

    @property
    def index_dir(self) -> Path:
        """<home>/index: the index generations and the CURRENT pointer."""
        return self.home / "index"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Where values come from, first wins: arguments (flags), PAPERDOJO_* environment variables,
        then the settings file of the home the arguments name (config_file), then the defaults."""
        home = init_settings.init_kwargs.get("home") if isinstance(init_settings, InitSettingsSource) \
            else None
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, config_file(home)))

    @classmethod
    def load(cls, **overrides: Any) -> Settings:
        """Settings with flag values applied; `None` flags mean "not given". The settings file is
        the given home's paperdojo.toml (see `config_file`).

        Raises ValueError naming the settings file when it is not valid TOML, and naming each bad
        setting and its value when one is of the wrong type or out of its choices.
        """
        given = {k: v for k, v in overrides.items() if v is not None}
        path = config_file(given.get("home"))
        _check_config_file(path, set(cls.model_fields))
        try:
            return cls(**given)
        except ValidationError as exc:
            raise ValueError(_validation_message(exc, path)) from None
