"""The papers paperdojo knows: the shipped reading list plus what the user added.

The reading list (`ingest/papers.toml`) is read-only here; additions go to
`<home>/ingest/library.toml` so a user's library never dirties the project's files.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

import tomlkit
import tomlkit.items

from paperdojo.library.identity import canonical_source
from paperdojo.library.sources import Plan, resolve
from paperdojo.settings import Settings
from paperdojo.util import atomic_write_text

UNCATEGORIZED = "Added by you"


class CatalogError(ValueError):
    """A reading list or library file that cannot be used as it is."""


@dataclass
class Paper:
    """One catalog entry: a stable id, title and category, where the document comes from (`link`,
    an `open_copy` of a paywalled paper, or a user's local `file`), a `kind` forcing html/pdf/markdown,
    and whether the reading list or the user put it there (`origin`)."""
    id: str
    title: str
    category: str
    link: str = ""  # as given by the reading list or the user
    kind: str | None = None  # forces html / pdf / markdown
    open_copy: str | None = None  # an open copy of a paywalled paper
    file: str | None = None  # a local PDF the user gave (already copied into the cache)
    origin: str = "reading-list"  # reading-list | user

    def plan(self) -> Plan:
        """The download plan for this paper (sources.resolve); a paywalled plan with the reason
        when it has no link. Raises ValueError for a link that cannot be requested."""
        if not self.link and self.file:  # asked only when no copy is cached
            return Plan("paywalled", None, f"its file {self.file} is not there any more (moved or deleted?)")
        if not self.link:
            return Plan("paywalled", None, "no link: a local file only")
        return resolve(self.link, self.kind, self.open_copy)


def _read(path: Path, origin: str) -> list[Paper]:
    if not path.exists():
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{path} is not valid TOML: {exc}") from exc
    known = {f.name for f in fields(Paper)}
    papers = []
    for i, raw in enumerate(data.get("paper", []), 1):
        missing = {"id", "category"} - raw.keys()
        if missing:
            raise CatalogError(f"{path}: paper #{i} lacks {', '.join(sorted(missing))}")
        unknown = set(raw) - known
        if unknown:
            raise CatalogError(f"{path}: paper {raw['id']!r} has unknown keys {sorted(unknown)}")
        papers.append(Paper(**{"title": "", **raw, "origin": origin}))
    return papers


def categories_file(settings: Settings) -> Path:
    """The categories the user chose for reading-list papers (`[categories] id = "name"`)."""
    return settings.ingest_dir / "categories.toml"


def _category_overrides(settings: Settings) -> dict[str, str]:
    path = categories_file(settings)
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8")).get("categories", {})
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{path} is not valid TOML: {exc}") from exc
    return {str(k): str(v) for k, v in data.items() if str(v).strip()}


def load_catalog(settings: Settings) -> list[Paper]:
    """Reading list first, in its order (with the categories the user chose for them), then the
    user's additions; ids are unique."""
    papers = _read(settings.reading_list, "reading-list") + _read(settings.library_file, "user")
    overrides = _category_overrides(settings)
    for paper in papers:
        if paper.origin == "reading-list" and paper.id in overrides:
            paper.category = overrides[paper.id]
    seen: set[str] = set()
    for paper in papers:
        if paper.id in seen:
            raise CatalogError(f"paper id {paper.id!r} appears twice (reading list and library)")
        seen.add(paper.id)
    return papers


def find(papers: list[Paper], paper_id: str) -> Paper | None:
    """The paper with id `paper_id`, or None."""
    return next((p for p in papers if p.id == paper_id), None)


def find_by_source(papers: list[Paper], link: str) -> Paper | None:
    """The paper whose link (or open copy) names the same document as `link`, by canonical source
    (identity.canonical_source: arXiv id without version, HAL id, DOI, normalized URL), or None."""
    wanted = canonical_source(link)
    if wanted is None:
        return None
    for paper in papers:
        if wanted in {canonical_source(paper.link), canonical_source(paper.open_copy or "")}:
            return paper
    return None


def _toml_file(comment: str, key: str, value: tomlkit.items.Item) -> str:
    """A TOML file of one top-level `key` under a comment line; tomlkit escapes every string (a
    title from a PDF's metadata may hold control characters TOML does not allow raw)."""
    doc = tomlkit.document()
    doc.add(tomlkit.comment(comment))
    doc.add(tomlkit.nl())
    doc.add(key, value)
    return tomlkit.dumps(doc)


def save_library(settings: Settings, papers: list[Paper]) -> None:
    """Write the user's papers (origin "user") to the library file as TOML ([[paper]] tables of
    their non-empty fields), atomically; the reading list is never written."""
    entries = tomlkit.aot()
    for paper in papers:
        if paper.origin == "user":
            entries.append(tomlkit.item({f.name: getattr(paper, f.name) for f in fields(Paper)
                                         if f.name != "origin" and getattr(paper, f.name) not in (None, "")}))
    comment = "Papers you added to paperdojo. Edit or delete entries freely."
    atomic_write_text(settings.library_file, _toml_file(comment, "paper", entries))


def add_paper(settings: Settings, paper: Paper) -> list[Paper]:
    """Add a user paper (or replace a user paper with the same id); returns the catalog."""
    papers = load_catalog(settings)
    existing = find(papers, paper.id)
    if existing and existing.origin != "user":
        raise CatalogError(f"{paper.id!r} is already on the reading list")
    paper.origin = "user"
    papers = [p for p in papers if p.id != paper.id] + [paper]
    save_library(settings, papers)
    return papers


def set_category(settings: Settings, paper_id: str, category: str) -> Paper:
    """Put a paper in `category`: a user paper in library.toml, a reading-list paper in
    categories.toml (the reading list itself stays as shipped). CatalogError for an unknown id or
    an empty name. The index follows at the next ingest (its parts are reused: seconds)."""
    category = " ".join(category.split())
    if not category:
        raise CatalogError("a category needs a name")
    papers = load_catalog(settings)
    paper = find(papers, paper_id)
    if paper is None:
        raise CatalogError(f"no paper {paper_id!r} in the library; `paperdojo papers` lists them")
    paper.category = category
    if paper.origin == "user":
        save_library(settings, papers)
    else:
        overrides = {**_category_overrides(settings), paper_id: category}
        atomic_write_text(categories_file(settings),
                          _toml_file("Categories you chose for reading-list papers.", "categories",
                                     tomlkit.item(dict(sorted(overrides.items())))))
    return paper


def remove_paper(settings: Settings, paper_id: str) -> list[Paper]:
    """The catalog without `paper_id`, saved. Raises CatalogError for an unknown id or a
    reading-list paper (edit the reading list instead)."""
    papers = load_catalog(settings)
    paper = find(papers, paper_id)
    if paper is None:
        raise CatalogError(f"no paper {paper_id!r} in the library")
    if paper.origin != "user":
        raise CatalogError(f"{paper_id!r} is on the reading list ({settings.reading_list}); edit it there")
    papers = [p for p in papers if p.id != paper_id]
    save_library(settings, papers)
    return papers


def unique_id(papers: list[Paper], wanted: str) -> str:
    """`wanted`, or `wanted-2`, `wanted-3`, ... : the first id no paper of `papers` has."""
    taken = {p.id for p in papers}
    candidate, n = wanted, 2
    while candidate in taken:
        candidate, n = f"{wanted}-{n}", n + 1
    return candidate
