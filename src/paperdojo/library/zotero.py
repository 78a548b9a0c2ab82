"""Papers from Zotero: a data folder (`zotero.sqlite` opened read-only, files under `storage/`) or the
local API Zotero 7 serves on 127.0.0.1:23119 (through pyzotero with `local=True`).

Both routes give `ZoteroItem`s (metadata and the PDF attachments found on disk); `import_items`
adds the new ones to the library (the PDF copied into the ingest cache, the metadata kept for
citations) and recognizes the ones the library already has, so importing twice adds nothing.
Zotero's own tables (schema of Zotero 5-7) read here: items, itemTypes, itemData, itemDataValues,
fields, creators, itemCreators, itemAttachments, collections, collectionItems, deletedItems.
"""

from __future__ import annotations

import logging
import re
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from paperdojo.library import bibliography, catalog, identity, ingest, parse, store
from paperdojo.library.catalog import Paper
from paperdojo.library.sources import arxiv_id
from paperdojo.settings import Settings
from paperdojo.util import sha256_file

log = logging.getLogger(__name__)
SKIPPED_TYPES = {"attachment", "note", "annotation"}
PDF = "application/pdf"
ARXIV_IN_FIELD = re.compile(r"(?:arXiv[:\s.]*|arxiv\.org/(?:abs|pdf)/|10\.48550/arXiv\.)(\d{4}\.\d{4,5})",
                            re.I)
LOCAL_API = "http://localhost:23119"  # where Zotero 7 serves its local API when enabled (pyzotero's default)


class ZoteroError(ValueError):
    """The Zotero library cannot be read (no such folder or collection, Zotero not answering)."""


@dataclass
class ZoteroItem:
    """One Zotero item with its bibliographic fields and the PDF attachments found on disk."""

    key: str
    item_type: str
    title: str
    authors: list[str] = field(default_factory=list)  # "Family, Given" (or a single-field name)
    year: str = ""
    doi: str = ""
    arxiv: str = ""
    url: str = ""
    venue: str = ""
    pdfs: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # attachments that could not be had, and why

    def metadata(self) -> dict:
        """The fields `bibliography` keeps for citations."""
        kind = {"conferencePaper": "inproceedings", "journalArticle": "article"}.get(self.item_type, "")
        return {"title": self.title, "authors": self.authors, "year": self.year, "doi": self.doi,
                "arxiv": self.arxiv, "url": self.url, "venue": self.venue, "kind": kind,
                "zotero_key": self.key}


def item_from_fields(key: str, item_type: str, fields: dict[str, str], creators: list[tuple[str, str]],
                     pdfs: list[Path] | None = None) -> ZoteroItem:
    """A ZoteroItem from Zotero field names (title, date, DOI, url, publicationTitle, extra, ...) and
    (first name, last name) pairs; the same names in the SQLite tables and in the API's JSON."""
    year = re.search(r"\b(1[89]\d\d|20\d\d)\b", fields.get("date", ""))
    arxiv = ""
    for candidate in (fields.get("archiveID", ""), fields.get("url", ""), fields.get("extra", ""),
                      fields.get("DOI", "")):
        m = ARXIV_IN_FIELD.search(candidate)
        if m:
            arxiv = m.group(1)
            break
    if not arxiv and fields.get("url"):
        arxiv = re.sub(r"v\d+$", "", arxiv_id(fields["url"]) or "")
    authors = [f"{last}, {first}" if first else last for first, last in creators if last or first]
    venue = (fields.get("publicationTitle") or fields.get("proceedingsTitle")
             or fields.get("conferenceName", ""))
    return ZoteroItem(key, item_type, fields.get("title", "").strip(), authors, year.group(1) if year else "",
                      fields.get("DOI", "").strip(), arxiv, fields.get("url", ""), venue, list(pdfs or []))


# --------------------------------------------------------------------------- the data folder
@contextmanager
def _read_only(db_path: Path) -> Iterator[sqlite3.Connection]:
    """zotero.sqlite opened read-only; while Zotero runs and holds its lock, a copy is read instead."""
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        db.execute("SELECT 1 FROM items LIMIT 1")
    except sqlite3.OperationalError as exc:
        db.close()
        if "locked" not in str(exc):
            raise ZoteroError(f"{db_path} is not a Zotero database ({exc})") from exc
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / "zotero.sqlite"
            shutil.copyfile(db_path, copy)
            with _read_only(copy) as db_copy:
                yield db_copy
        return
    try:
        yield db
    finally:
        db.close()


def _attachment_path(data_dir: Path, att_key: str, link_mode: int, path: str | None) -> Path | None:
    """Where an attachment's file is: storage/<key>/<name> for stored files, the path for linked ones."""
    if not path:
        return None
    if path.startswith("storage:"):
        return data_dir / "storage" / att_key / path.removeprefix("storage:")
    if link_mode == 2 and not path.startswith("attachments:"):  # a linked file with an absolute path
        return Path(path)
    return None  # "attachments:..." is relative to a base folder set in Zotero's preferences


def read_data_folder(data_dir: Path, collection: str | None = None) -> list[ZoteroItem]:
    """The regular items (of one collection, by name or key) with their PDF attachments.

    Raises ZoteroError for a folder without zotero.sqlite or an unknown collection.
    """
    db_path = data_dir / "zotero.sqlite"
    if not db_path.is_file():
        raise ZoteroError(f"{data_dir} has no zotero.sqlite: give Zotero's data folder "
                          "(Zotero: Settings > Advanced > Files and Folders > Data Directory Location)")
    with _read_only(db_path) as db:
        where = ""
        args: tuple[object, ...] = ()
        if collection:
            row = db.execute("SELECT collectionID FROM collections WHERE collectionName = ? OR key = ?",
                             (collection, collection)).fetchone()
            if row is None:
                names = [r[0] for r in db.execute("SELECT collectionName FROM collections ORDER BY 1")]
                raise ZoteroError(f"no Zotero collection {collection!r}; there are: "
                                  f"{', '.join(names) or 'none'}")
            where = " AND i.itemID IN (SELECT itemID FROM collectionItems WHERE collectionID = ?)"
            args = (row[0],)
        rows = db.execute(
            "SELECT i.itemID, i.key, t.typeName FROM items i JOIN itemTypes t ON t.itemTypeID = i.itemTypeID"
            f" WHERE i.itemID NOT IN (SELECT itemID FROM deletedItems){where} ORDER BY i.itemID",
            args).fetchall()
        items = []
        for item_id, key, type_name in rows:
            if type_name in SKIPPED_TYPES:
                continue
            fields = dict(db.execute(
                "SELECT f.fieldName, v.value FROM itemData d JOIN fields f ON f.fieldID = d.fieldID "
                "JOIN itemDataValues v ON v.valueID = d.valueID WHERE d.itemID = ?", (item_id,)).fetchall())
            creators = db.execute(
                "SELECT c.firstName, c.lastName FROM itemCreators ic JOIN creators c "
                "ON c.creatorID = ic.creatorID WHERE ic.itemID = ? ORDER BY ic.orderIndex",
                (item_id,)).fetchall()
            item = item_from_fields(key, type_name, {k: str(v) for k, v in fields.items()},
                                    [(f or "", ln or "") for f, ln in creators])
            attachments = db.execute(
                "SELECT i.key, a.linkMode, a.contentType, a.path FROM itemAttachments a "
                "JOIN items i ON i.itemID = a.itemID WHERE a.parentItemID = ? "
                "AND a.itemID NOT IN (SELECT itemID FROM deletedItems) ORDER BY a.itemID",
                (item_id,)).fetchall()
            for att_key, link_mode, content_type, path in attachments:
                if content_type != PDF:
                    continue
                found = _attachment_path(data_dir, att_key, link_mode, path)
                if found is not None and found.is_file():
                    item.pdfs.append(found)
                else:
                    item.problems.append(f"PDF attachment {att_key} is not on disk ({found or path})")
            items.append(item)
    return items


# --------------------------------------------------------------------------- the local API
def read_local_api(collection: str | None = None, base_url: str = LOCAL_API,
                   download_dir: Path | None = None) -> list[ZoteroItem]:
    """The same through Zotero's local API (Zotero 7, "Allow other applications ... to communicate").

    A PDF's file is the attachment's `links.enclosure.href` when that is a file:// URL (how the local
    API answers), else it is fetched through the API into `download_dir`. Raises ZoteroError when
    Zotero does not answer or the collection is unknown.
    """
    import httpx
    from pyzotero import zotero, zotero_errors

    zot = zotero.Zotero(library_id=0, library_type="user", local=True)
    zot.endpoint = base_url.rstrip("/") + "/api"
    try:
        if collection:
            found = [c for c in zot.everything(zot.collections())
                     if collection in (c["data"].get("name"), c["data"].get("key"), c.get("key"))]
            if not found:
                raise ZoteroError(f"no Zotero collection {collection!r} at {base_url}")
            raw = zot.everything(zot.collection_items(found[0]["key"]))
        else:
            raw = zot.everything(zot.items())
        by_key = {r["key"]: r for r in raw}
        parents = [r for r in raw if r["data"].get("itemType") not in SKIPPED_TYPES]
        children: dict[str, list[dict]] = {}
        for r in raw:
            if r["data"].get("itemType") == "attachment" and r["data"].get("parentItem"):
                children.setdefault(r["data"]["parentItem"], []).append(r)
        items = []
        for p in parents:
            data = p["data"]
            attachments = children.get(p["key"])
            if attachments is None and p.get("meta", {}).get("numChildren", 1):
                attachments = [c for c in zot.children(p["key"]) if c["key"] not in by_key]
            creators = [(c.get("firstName", ""), c.get("lastName") or c.get("name", ""))
                        for c in data.get("creators", [])]
            fields = {k: str(v) for k, v in data.items() if isinstance(v, str | int)}
            item = item_from_fields(p["key"], data.get("itemType", ""), fields, creators)
            for att in attachments or []:
                if att["data"].get("contentType") != PDF:
                    continue
                href = att.get("links", {}).get("enclosure", {}).get("href", "")
                if href.startswith("file://"):
                    path = Path(unquote(urlparse(href).path))
                    if path.is_file():
                        item.pdfs.append(path)
                        continue
                if download_dir is None:
                    item.problems.append(f"PDF attachment {att['key']} is not a local file "
                                         f"({href or 'no link'})")
                    continue
                body = zot.file(att["key"])
                path = download_dir / f"{att['key']}.pdf"
                path.write_bytes(body if isinstance(body, bytes) else bytes(body))
                item.pdfs.append(path)
            items.append(item)
        return items
    except (httpx.HTTPError, zotero_errors.PyZoteroError) as exc:
        raise ZoteroError(f"Zotero's local API at {base_url} did not answer ({exc!r}): start Zotero 7 and "
                          "enable Settings > Advanced > 'Allow other applications on this computer to "
                          "communicate with Zotero'") from exc


# --------------------------------------------------------------------------- identity and import
def known_documents(settings: Settings, papers: list[Paper]) -> dict[str, str]:
    """sha256 -> paper id of every document the library holds: identity.content_index over the
    cached files (the library's own rule), completed by the hashes the live index recorded."""
    known = identity.content_index(ingest.cached_files(settings, papers))
    try:
        manifest = store.read_manifest(settings.index_dir) or {}
    except store.IndexProblem:
        log.warning("the index manifest cannot be read; recognizing papers by their cached files only")
        manifest = {}
    for doc_id, doc in manifest.get("docs", {}).items():
        if doc.get("sha256"):
            known.setdefault(doc["sha256"], doc_id)
    return known


def existing_paper(item: ZoteroItem, sha: str, papers: list[Paper], known: dict[str, str],
                   stored: dict[str, dict]) -> str | None:
    """The id of the library paper this item is, else None: the same content (sha256), else the same
    canonical source (identity.canonical_source of its arXiv id or DOI) as a paper's link or as the
    identifiers an earlier import stored for it."""
    if sha in known:
        return known[sha]
    for wanted in (f"arXiv:{item.arxiv}" if item.arxiv else "", item.doi):
        source = identity.canonical_source(wanted) if wanted else None
        if source is None:
            continue
        if paper := catalog.find_by_source(papers, wanted):
            return paper.id
        for pid, meta in stored.items():
            ids = [f"arXiv:{meta['arxiv']}" if meta.get("arxiv") else "", meta.get("doi", "")]
            if source in {identity.canonical_source(i) for i in ids if i}:
                return pid
    return None


@dataclass
class ImportReport:
    """What an import did: the new paper ids, the Zotero items recognized as papers
    already in the library, and those skipped with the reason."""
    added: list[str] = field(default_factory=list)  # new paper ids
    recognized: dict[str, str] = field(default_factory=dict)  # Zotero key -> the library paper it is
    skipped: dict[str, str] = field(default_factory=dict)  # Zotero key -> why


def import_items(settings: Settings, items: list[ZoteroItem], category: str | None = None,
                 progress: Callable[[int, int, str], None] | None = None) -> ImportReport:
    """Add the items that are new to the library (their first readable PDF is copied into the ingest
    cache; the metadata kept for citations) and recognize the ones it has. Nothing is indexed here:
    ingest the returned `added` ids next."""
    report = ImportReport()
    papers = catalog.load_catalog(settings)
    known = known_documents(settings, papers)
    stored = bibliography.load_metadata(settings)
    for n, item in enumerate(items, 1):
        if progress:
            progress(n, len(items), item.title or item.key)
        label = f"{item.title or 'untitled'} ({item.key})"
        if not item.pdfs:
            why = "; ".join(item.problems) or "no PDF attachment"
            report.skipped[item.key] = f"{label}: {why}"
            continue
        pdf, reason = None, ""
        for candidate in item.pdfs:
            try:
                parse.check_pdf_file(candidate)
                pdf = candidate
                break
            except parse.ParseError as exc:
                reason = f"{candidate}: {exc}"
        if pdf is None:
            report.skipped[item.key] = f"{label}: {reason}"
            continue
        sha = sha256_file(pdf)
        match = existing_paper(item, sha, papers, known, stored)
        if match is not None:
            report.recognized[item.key] = match
            bibliography.save_metadata(settings, match, {k: v for k, v in item.metadata().items()
                                                         if k not in stored.get(match, {})})
            continue
        paper_id = identity.paper_id([p.id for p in papers], item.title, pdf.stem, sha)
        paper = Paper(paper_id, item.title, category or catalog.UNCATEGORIZED,
                      link=f"https://arxiv.org/abs/{item.arxiv}" if item.arxiv else "",
                      file=str(pdf.resolve()), origin="user")
        dest = settings.pdf_dir / f"{paper_id}.pdf"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(pdf, dest)
        papers = catalog.add_paper(settings, paper)
        bibliography.save_metadata(settings, paper_id, item.metadata())
        stored[paper_id] = item.metadata()
        known[sha] = paper_id
        report.added.append(paper_id)
    return report
