"""`paperdojo import zotero`: a collection of three PDFs, one of them a paper already indexed, adds
two papers and recognizes the third, and a second import adds nothing; by both routes.

Zotero itself cannot run here. The data-folder route reads a zotero.sqlite built with the columns
of Zotero 5-7's schema (resource/schema/userdata.sql, schema 107+, and system.sql for itemTypes and
fields) for the tables we read; ids of item types and fields are the test's own (we join by name).
The local-API route talks to a real HTTP server on 127.0.0.1 that answers like Zotero 7's local API
(/api/users/0/...): JSON items of the Web API v3 shape (key, version, library, links, meta, data),
attachments as child items with data.parentItem, contentType, linkMode and links.enclosure.href
(a file:// URL for stored files), and /items/KEY/file serving the PDF bytes.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from helpers import make_pdf, paper_pages, two_paper_home

from paperdojo.cli import main
from paperdojo.library import bibliography, store, zotero
from paperdojo.library.ingest import ingest
from paperdojo.workspace import Workspace

SCHEMA = """
CREATE TABLE itemTypes (itemTypeID INTEGER PRIMARY KEY, typeName TEXT, templateItemTypeID INT,
    display INT DEFAULT 1);
CREATE TABLE fields (fieldID INTEGER PRIMARY KEY, fieldName TEXT, fieldFormatID INT);
CREATE TABLE libraries (libraryID INTEGER PRIMARY KEY, type TEXT NOT NULL, editable INT NOT NULL,
    filesEditable INT NOT NULL, version INT NOT NULL DEFAULT 0, storageVersion INT NOT NULL DEFAULT 0,
    lastSync INT NOT NULL DEFAULT 0, archived INT NOT NULL DEFAULT 0);
CREATE TABLE items (itemID INTEGER PRIMARY KEY, itemTypeID INT NOT NULL,
    dateAdded TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    dateModified TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    clientDateModified TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, libraryID INT NOT NULL,
    key TEXT NOT NULL, version INT NOT NULL DEFAULT 0, synced INT NOT NULL DEFAULT 0,
    UNIQUE (libraryID, key));
CREATE TABLE itemDataValues (valueID INTEGER PRIMARY KEY, value UNIQUE);
CREATE TABLE itemData (itemID INT, fieldID INT, valueID, PRIMARY KEY (itemID, fieldID));
CREATE TABLE itemAttachments (itemID INTEGER PRIMARY KEY, parentItemID INT, linkMode INT, contentType TEXT,
    charsetID INT, path TEXT, syncState INT DEFAULT 0, storageModTime INT, storageHash TEXT,
    lastProcessedModificationTime INT);
CREATE TABLE creators (creatorID INTEGER PRIMARY KEY, firstName TEXT, lastName TEXT, fieldMode INT,
    UNIQUE (lastName, firstName, fieldMode));
CREATE TABLE itemCreators (itemID INT NOT NULL, creatorID INT NOT NULL, creatorTypeID INT NOT NULL DEFAULT 1,
    orderIndex INT NOT NULL DEFAULT 0, PRIMARY KEY (itemID, creatorID, creatorTypeID, orderIndex),
    UNIQUE (itemID, orderIndex));
CREATE TABLE collections (collectionID INTEGER PRIMARY KEY, collectionName TEXT NOT NULL,
    parentCollectionID INT DEFAULT NULL, clientDateModified TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    libraryID INT NOT NULL, key TEXT NOT NULL, version INT NOT NULL DEFAULT 0, synced INT NOT NULL DEFAULT 0,
    UNIQUE (libraryID, key));
CREATE TABLE collectionItems (collectionID INT NOT NULL, itemID INT NOT NULL,
    orderIndex INT NOT NULL DEFAULT 0, PRIMARY KEY (collectionID, itemID));
CREATE TABLE deletedItems (itemID INTEGER PRIMARY KEY, dateDeleted DEFAULT CURRENT_TIMESTAMP NOT NULL);
"""
TYPES = {"journalArticle": 4, "attachment": 14, "conferencePaper": 33, "preprint": 38}
FIELDS = {"url": 1, "date": 6, "extra": 16, "publicationTitle": 38, "DOI": 59, "title": 110, "archiveID": 120}

# (key, type, fields, creators, attachment key, file name) of the collection's three papers
PAPERS = [
    ("PIPEDUP1", "journalArticle", {"title": "Pipelining micro-batches (my copy)", "date": "2019"}, [],
     "ATTPIPE1", "pipe-copy.pdf"),
    ("HALO0001", "conferencePaper", {"title": "Halo Layouts for Sharded Convolutions", "date": "2021-05-03",
                                     "DOI": "10.1145/9999.0001", "publicationTitle": "Proc. of Test Systems"},
     [("Ada", "Lovelace"), ("Jörg", "Müller")], "ATTHALO1", "halo.pdf"),
    ("TILE0001", "preprint", {"title": "Tile Scheduling on Spatial Accelerators",
                              "url": "https://arxiv.org/abs/2301.00001v2", "archiveID": "arXiv:2301.00001"},
     [("Grace", "Hopper")], "ATTTILE1", "tile.pdf"),
]


@pytest.fixture
def library(tmp_path: Path, embedder):  # noqa: ANN201
    """A home with pipe and shard indexed, and the three PDFs of the Zotero collection."""
    settings = two_paper_home(tmp_path / "home", embedder)
    files = tmp_path / "zotero-files"
    files.mkdir()
    shutil.copy(settings.home / "pdfs" / "pipe.pdf", files / "pipe-copy.pdf")  # the same bytes as pipe
    make_pdf(files / "halo.pdf", paper_pages("halo exchange layouts", 2), title_meta="Halo Layouts")
    make_pdf(files / "tile.pdf", paper_pages("tile scheduling", 2), title_meta="Tile Scheduling")
    make_pdf(files / "other.pdf", paper_pages("unrelated topic", 1))
    return settings, files


def make_data_folder(root: Path, files: Path) -> Path:
    """A Zotero data folder: zotero.sqlite and storage/<attachment key>/<file>."""
    root.mkdir()
    db = sqlite3.connect(root / "zotero.sqlite")
    db.executescript(SCHEMA)
    db.executemany("INSERT INTO itemTypes (itemTypeID, typeName) VALUES (?, ?)",
                   [(v, k) for k, v in TYPES.items()])
    db.executemany("INSERT INTO fields (fieldID, fieldName) VALUES (?, ?)",
                   [(v, k) for k, v in FIELDS.items()])
    db.execute("INSERT INTO libraries (libraryID, type, editable, filesEditable) VALUES (1, 'user', 1, 1)")
    db.execute("INSERT INTO collections (collectionID, collectionName, libraryID, key) "
               "VALUES (1, 'Reading group', 1, 'COLL1234')")
    next_id = iter(range(1, 1000))
    values: dict[str, int] = {}

    def add_item(key: str, type_name: str, fields: dict, creators: list, collection: bool) -> int:
        item_id = next(next_id)
        db.execute("INSERT INTO items (itemID, itemTypeID, libraryID, key) VALUES (?, ?, 1, ?)",
                   (item_id, TYPES[type_name], key))
        for name, value in fields.items():
            if value not in values:
                values[value] = len(values) + 1
                db.execute("INSERT INTO itemDataValues VALUES (?, ?)", (values[value], value))
            db.execute("INSERT INTO itemData VALUES (?, ?, ?)", (item_id, FIELDS[name], values[value]))
        for order, (first, last) in enumerate(creators):
            db.execute("INSERT OR IGNORE INTO creators (firstName, lastName, fieldMode) VALUES (?, ?, 0)",
                       (first, last))
            cid = db.execute("SELECT creatorID FROM creators WHERE firstName=? AND lastName=?",
                             (first, last)).fetchone()[0]
            db.execute("INSERT INTO itemCreators VALUES (?, ?, 1, ?)", (item_id, cid, order))
        if collection:
            db.execute("INSERT INTO collectionItems VALUES (1, ?, ?)", (item_id, item_id))
        return item_id

    def add_pdf(parent: int, att_key: str, name: str) -> None:
        att = add_item(att_key, "attachment", {"title": "Full Text PDF"}, [], False)
        db.execute("INSERT INTO itemAttachments (itemID, parentItemID, linkMode, contentType, path) "
                   "VALUES (?, ?, 1, 'application/pdf', ?)", (att, parent, f"storage:{name}"))
        (root / "storage" / att_key).mkdir(parents=True)
        shutil.copy(files / name, root / "storage" / att_key / name)

    for key, type_name, fields, creators, att_key, name in PAPERS:
        add_pdf(add_item(key, type_name, fields, creators, True), att_key, name)
    outside = add_item("OUTSIDE1", "journalArticle", {"title": "Not in the collection"}, [], False)
    add_pdf(outside, "ATTOUT01", "other.pdf")
    trashed = add_item("TRASHED1", "journalArticle", {"title": "In the trash"}, [], True)
    add_pdf(trashed, "ATTTRSH1", "other.pdf")
    db.execute("INSERT INTO deletedItems (itemID) VALUES (?)", (trashed,))
    db.commit()
    db.close()
    return root


def _indexed(settings) -> set[str]:  # noqa: ANN001
    docs = (store.read_manifest(settings.index_dir) or {})["docs"]
    return {d for d, m in docs.items() if m["status"] == "indexed"}


def _check_first_import(settings, report) -> None:  # noqa: ANN001
    assert report.recognized == {"PIPEDUP1": "pipe"}
    assert len(report.added) == 2 and not report.skipped
    meta = bibliography.load_metadata(settings)
    halo = next(i for i in report.added if i.startswith("halo"))
    assert meta[halo]["authors"] == ["Lovelace, Ada", "Müller, Jörg"]
    assert meta[halo]["doi"] == "10.1145/9999.0001"
    assert meta[halo]["year"] == "2021" and meta[halo]["zotero_key"] == "HALO0001"
    tile = next(i for i in report.added if i.startswith("tile"))
    assert meta[tile]["arxiv"] == "2301.00001"


def test_data_folder_collection_adds_two_and_recognizes_one(library, tmp_path: Path, monkeypatch) -> None:
    settings, files = library
    data = make_data_folder(tmp_path / "Zotero", files)
    before = (data / "zotero.sqlite").read_bytes()
    items = zotero.read_data_folder(data, "Reading group")
    assert [i.key for i in items] == ["PIPEDUP1", "HALO0001", "TILE0001"]  # not the outside or trashed item
    assert all(len(i.pdfs) == 1 for i in items)

    monkeypatch.setenv("PAPERDOJO_READING_LIST", str(settings.reading_list))
    monkeypatch.setenv("PAPERDOJO_PARSE_WORKERS", "0")
    assert main(["--home", str(settings.home), "import", "zotero", "--data-dir", str(data),
                 "--collection", "Reading group"]) == 0
    assert len(_indexed(settings)) == 4 and {"pipe", "shard"} <= _indexed(settings)
    papers = {d.id: d for d in Workspace(settings).papers()}
    new = {i: d for i, d in papers.items() if i not in {"pipe", "shard"}}
    assert {d.category for d in new.values()} == {"Reading group"}
    meta = bibliography.load_metadata(settings)
    assert {meta[i]["zotero_key"] for i in new} == {"HALO0001", "TILE0001"}

    again = zotero.import_items(settings, zotero.read_data_folder(data, "COLL1234"))
    assert again.added == [] and set(again.recognized) == {"PIPEDUP1", "HALO0001", "TILE0001"}
    assert again.recognized["PIPEDUP1"] == "pipe"
    assert (data / "zotero.sqlite").read_bytes() == before  # opened read-only

    with pytest.raises(zotero.ZoteroError, match="no Zotero collection 'Nope'; there are: Reading group"):
        zotero.read_data_folder(data, "Nope")
    with pytest.raises(zotero.ZoteroError, match="has no zotero.sqlite"):
        zotero.read_data_folder(tmp_path, None)


class FakeLocalApi:
    """Answers like Zotero 7's local API on 127.0.0.1 for one user library with one collection."""

    def __init__(self, files: Path) -> None:
        self.requests: list[str] = []
        parents, children = [], {}
        for key, type_name, fields, creators, att_key, name in PAPERS:
            data = {"key": key, "version": 3, "itemType": type_name, "creators": [
                {"creatorType": "author", "firstName": f, "lastName": ln} for f, ln in creators],
                "collections": ["COLL1234"], "tags": [], "relations": {}, **fields}
            parents.append(self._wrap(key, data, {"numChildren": 1}))
            att = {"key": att_key, "version": 3, "itemType": "attachment", "parentItem": key,
                   "linkMode": "imported_file", "title": "Full Text PDF", "contentType": "application/pdf",
                   "filename": name, "tags": [], "relations": {}}
            links = {}
            if key != "TILE0001":  # the third is only reachable through /file
                links = {"enclosure": {"type": "application/pdf", "href": (files / name).resolve().as_uri()}}
            children[key] = [self._wrap(att_key, att, {}, links)]
        collection = {"key": "COLL1234", "version": 2, "library": {"type": "user", "id": 0},
                      "meta": {"numCollections": 0, "numItems": 3},
                      "data": {"key": "COLL1234", "version": 2, "name": "Reading group",
                               "parentCollection": False}}
        routes = {"/api/users/0/collections": [collection],
                  "/api/users/0/collections/COLL1234/items": parents}
        routes.update({f"/api/users/0/items/{k}/children": v for k, v in children.items()})
        tile_pdf = (files / "tile.pdf").read_bytes()
        requests = self.requests

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return None

            def do_GET(self) -> None:  # noqa: N802
                path = self.path.split("?")[0]
                requests.append(path)
                if path == "/api/users/0/items/ATTTILE1/file":
                    body, ctype = tile_pdf, "application/pdf"
                elif path in routes:
                    body, ctype = json.dumps(routes[path]).encode(), "application/json"
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Zotero-API-Version", "3")
                self.send_header("Total-Results", "3")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @staticmethod
    def _wrap(key: str, data: dict, meta: dict, links: dict | None = None) -> dict:
        return {"key": key, "version": 3, "library": {"type": "user", "id": 0, "name": "My Library"},
                "links": {"self": {"href": f"http://localhost:23119/api/users/0/items/{key}"},
                          **(links or {})},
                "meta": meta, "data": data}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeLocalApi:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_local_api_collection_adds_two_and_recognizes_one(library, tmp_path: Path, embedder) -> None:
    settings, files = library
    with FakeLocalApi(files) as api:
        items = zotero.read_local_api("Reading group", api.url, tmp_path)
        assert [i.key for i in items] == ["PIPEDUP1", "HALO0001", "TILE0001"]
        assert items[2].pdfs == [tmp_path / "ATTTILE1.pdf"]  # fetched through /file
        report = zotero.import_items(settings, items, "Reading group")
        _check_first_import(settings, report)
        ingest(settings, only=report.added, embedder=embedder)
        assert len(_indexed(settings)) == 4
        again = zotero.import_items(settings, zotero.read_local_api("COLL1234", api.url, tmp_path))
        assert again.added == [] and len(again.recognized) == 3
        with pytest.raises(zotero.ZoteroError, match="no Zotero collection"):
            zotero.read_local_api("Nope", api.url, tmp_path)
    with pytest.raises(zotero.ZoteroError, match="did not answer"):
        zotero.read_local_api(None, api.url, tmp_path)  # the server is gone


def test_recognized_by_arxiv_id_or_doi_whatever_the_file() -> None:
    """Another copy of a paper (other bytes) is the same paper by its canonical source."""
    from paperdojo.library.catalog import Paper

    papers = [Paper("alpa", "Alpa", "Graph scheduling", link="https://arxiv.org/abs/2201.12023v1"),
              Paper("taso", "TASO", "Graph optimizations", origin="user")]
    stored = {"taso": {"doi": "10.1145/3341301.3359630"}}  # left by an earlier import
    other_bytes = "0" * 64

    def item(key: str, fields: dict) -> zotero.ZoteroItem:
        return zotero.item_from_fields(key, "preprint", {"title": key, **fields}, [])

    assert zotero.existing_paper(item("A", {"url": "https://arxiv.org/abs/2201.12023v3"}), other_bytes,
                                 papers, {}, stored) == "alpa"
    assert zotero.existing_paper(item("B", {"extra": "arXiv: 2201.12023"}), other_bytes, papers, {},
                                 stored) == "alpa"
    assert zotero.existing_paper(item("C", {"DOI": "10.1145/3341301.3359630"}), other_bytes, papers, {},
                                 stored) == "taso"
    assert zotero.existing_paper(item("D", {"DOI": "10.1145/0000.0000"}), other_bytes, papers, {},
                                 stored) is None
    assert zotero.existing_paper(item("E", {}), "f" * 64, papers, {"f" * 64: "taso"}, stored) == "taso"
