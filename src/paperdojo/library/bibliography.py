"""The library as citations: BibTeX (written by bibtexparser) and CSL-JSON (Zotero, Pandoc, citeproc).

What a citation needs comes from, in order: the bibliographic record an import left
(`<home>/ingest/metadata.json`: authors, year, DOI, venue, from Zotero), the paper's link (an arXiv
id), and its indexed first page (the "arXiv:2103.01234" stamp arXiv prints in the margin, a DOI).
arXiv entries carry `eprint`, `archivePrefix = {arXiv}` and the year the id encodes. A paper with no
known authors gets none: we never invent them.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import bibtexparser
from bibtexparser.middlewares import LatexEncodingMiddleware
from bibtexparser.model import Entry, Field

from paperdojo.library.catalog import Paper
from paperdojo.library.sources import arxiv_id
from paperdojo.settings import Settings
from paperdojo.util import atomic_write_text, read_json

# the stamp arXiv prints in a preprint's margin: "arXiv:1811.06965v5 [cs.CV] 25 Jul 2019" (a cited
# "arXiv preprint arXiv:1810.04805" has no [category] after it)
ARXIV_STAMP = re.compile(r"\barXiv:\s?(\d{4}\.\d{4,5})(v\d+)?\s*\[[a-z\-]+(?:\.[A-Za-z\-]+)?\]")
DOI = re.compile(r"(?:\bdoi:?\s*|doi\.org/)(10\.\d{4,9}/[^\s\"<>,;]+[^\s\"<>,;.)\]])", re.I)


@dataclass
class Record:
    """What a citation of one paper says; empty fields are unknown."""

    id: str
    title: str
    authors: list[str] = field(default_factory=list)  # "Family, Given" or a single name
    year: str = ""
    doi: str = ""
    arxiv: str = ""  # without version
    venue: str = ""  # journal or proceedings
    url: str = ""
    kind: str = ""  # article | inproceedings | misc (from the import), else decided here


def metadata_file(settings: Settings) -> Path:
    """The JSON file of bibliographic fields that imports (Zotero) stored, per paper id."""
    return settings.ingest_dir / "metadata.json"


def load_metadata(settings: Settings) -> dict[str, dict]:
    """Bibliographic fields per paper id, as imports stored them ({} when none)."""
    data = read_json(metadata_file(settings), {}) or {}
    return data if isinstance(data, dict) else {}


def save_metadata(settings: Settings, paper_id: str, fields: dict) -> None:
    """Merge non-empty fields into the paper's stored record (an atomic rewrite of the file)."""
    data = load_metadata(settings)
    data[paper_id] = {**data.get(paper_id, {}), **{k: v for k, v in fields.items() if v}}
    atomic_write_text(metadata_file(settings), json.dumps(data, indent=1, ensure_ascii=False))


def identifiers_in(text: str) -> tuple[str, str]:
    """(arXiv id without version, DOI) found in a page of text, '' when absent."""
    arxiv = ARXIV_STAMP.search(text)
    doi = DOI.search(text)
    return (arxiv.group(1) if arxiv else ""), (doi.group(1) if doi else "")


def first_page_text(pdf: Path) -> str:
    """The raw text of a PDF's first page, margins included ('' when it cannot be read)."""
    import pypdfium2

    try:
        doc = pypdfium2.PdfDocument(str(pdf))
    except (pypdfium2.PdfiumError, OSError):
        return ""
    try:
        return doc[0].get_textpage().get_text_range() if len(doc) else ""
    finally:
        doc.close()


def record_for(paper: Paper, title: str = "", first_page: str = "", stored: dict | None = None) -> Record:
    """The citation record of a catalog paper (see the module docstring for where fields come from)."""
    stored = stored or {}
    stamp_arxiv, stamp_doi = identifiers_in(first_page)
    link_arxiv = arxiv_id(paper.link) if paper.link else None
    arxiv = re.sub(r"v\d+$", "", stored.get("arxiv") or link_arxiv or stamp_arxiv or "")
    year = stored.get("year") or ""
    if not year and re.match(r"^\d{4}\.", arxiv):
        year = f"20{arxiv[:2]}"
    url = stored.get("url") or paper.link or (f"https://arxiv.org/abs/{arxiv}" if arxiv else "")
    return Record(paper.id, stored.get("title") or paper.title or title or paper.id,
                  list(stored.get("authors") or []), year, stored.get("doi") or stamp_doi, arxiv,
                  stored.get("venue") or "", url, stored.get("kind") or "")


def _key(record: Record) -> str:
    return re.sub(r"[^A-Za-z0-9_:-]+", "-", record.id).strip("-") or "paper"


def to_bibtex(records: list[Record]) -> str:
    """BibTeX text (LaTeX-encoded, braces around every value); parses back with bibtexparser."""
    library = bibtexparser.Library()
    for r in records:
        kind = r.kind or ("misc" if not r.venue else "article" if r.arxiv else "inproceedings")
        fields = [Field("title", r.title)]
        if r.authors:
            fields.append(Field("author", " and ".join(r.authors)))
        if r.year:
            fields.append(Field("year", r.year))
        if r.venue:
            fields.append(Field("booktitle" if kind == "inproceedings" else "journal", r.venue))
        if r.doi:
            fields.append(Field("doi", r.doi))
        if r.arxiv:
            fields += [Field("eprint", r.arxiv), Field("archivePrefix", "arXiv")]
        if r.url:
            fields.append(Field("url", r.url))
        library.add(Entry(kind, _key(r), fields))
    latex = LatexEncodingMiddleware(keep_math=True, enclose_urls=False)
    return bibtexparser.write_string(library, prepend_middleware=[latex])


def _csl_name(name: str) -> dict:
    family, sep, given = name.partition(",")
    return {"family": family.strip(), "given": given.strip()} if sep else {"literal": name.strip()}


def to_csl_json(records: list[Record]) -> str:
    """CSL-JSON (a list of items), as Zotero, Pandoc and citeproc read it."""
    items = []
    for r in records:
        item: dict = {"id": _key(r), "type": "article" if r.arxiv and not r.venue else
                      "paper-conference" if r.kind == "inproceedings" else "article-journal" if r.venue
                      else "article", "title": r.title}
        if r.authors:
            item["author"] = [_csl_name(a) for a in r.authors]
        if r.year.isdigit():
            item["issued"] = {"date-parts": [[int(r.year)]]}
        if r.venue:
            item["container-title"] = r.venue
        if r.doi:
            item["DOI"] = r.doi
        if r.arxiv:
            item.update({"publisher": "arXiv", "number": r.arxiv})
        if r.url:
            item["URL"] = r.url
        items.append(item)
    return json.dumps(items, indent=1, ensure_ascii=False)


def records_json(records: list[Record]) -> list[dict]:
    """The records as plain dicts (dataclasses.asdict), e.g. for JSON output."""
    return [asdict(r) for r in records]
