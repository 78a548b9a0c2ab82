"""One paper, one entry: identity by canonical source and by content, ids unique per document."""

from __future__ import annotations

import shutil

import pytest
from conftest import make_settings
from helpers import LocalServer, Route, make_pdf, paper_pages

from paperdojo.cli import main
from paperdojo.library import catalog, ingest, store
from paperdojo.settings import PROJECT_ROOT


@pytest.mark.parametrize(("link", "canonical"), [
    ("2201.12023", "arxiv:2201.12023"),
    ("2201.12023v3", "arxiv:2201.12023"),
    ("arXiv:2201.12023v1", "arxiv:2201.12023"),
    ("https://arxiv.org/abs/2201.12023v1", "arxiv:2201.12023"),
    ("http://export.arxiv.org/pdf/2201.12023v2.pdf", "arxiv:2201.12023"),
    ("https://doi.org/10.48550/arXiv.2201.12023", "arxiv:2201.12023"),
    ("cs/0501001v2", "arxiv:cs/0501001"),
    ("arxiv.org/abs/2201.12023v2", "arxiv:2201.12023"),  # no scheme
    ("www.arxiv.org/pdf/2201.12023v2.pdf", "arxiv:2201.12023"),
    ("https://ARXIV.ORG/PDF/2201.12023v2.PDF", "arxiv:2201.12023"),
    ("https://arxiv.org/pdf/2201.12023v1?download=1", "arxiv:2201.12023"),
    ("arXiv:2201.12023v2 [cs.DC]", "arxiv:2201.12023"),  # as arXiv's listings show it
    ("https://ar5iv.labs.arxiv.org/html/2201.12023", "arxiv:2201.12023"),
    ("https://huggingface.co/papers/2201.12023", "arxiv:2201.12023"),
    ("https://browse.arxiv.org/abs/2201.12023v2", "arxiv:2201.12023"),  # any of arXiv's own hosts
    ("https://www.alphaxiv.org/abs/2201.12023v3", "arxiv:2201.12023"),
    ("https://arxiv.org/list/cs.DC/recent", "url:https://arxiv.org/list/cs.DC/recent"),  # not a paper
    ("https://example.org/abs/2201.12023", "url:https://example.org/abs/2201.12023"),  # not arXiv's
    ("https://inria.hal.science/hal-01828312/document", "hal:hal-01828312"),
    ("https://hal.inria.fr/hal-01828312v2", "hal:hal-01828312"),
    ("doi:10.1145/3373376.3378508", "doi:10.1145/3373376.3378508"),
    ("https://dl.acm.org/doi/pdf/10.1145/3373376.3378508", "doi:10.1145/3373376.3378508"),
    ("https://DOI.org/10.1145/3373376.3378508", "doi:10.1145/3373376.3378508"),
    ("HTTP://Example.ORG:80/a/paper.pdf?utm_source=x&b=2&a=1#page=3", "url:https://example.org/a/paper.pdf?a=1&b=2"),
    ("https://example.org/posts/triton/", "url:https://example.org/posts/triton"),
    ("proceedings.mlsys.org/paper/x.pdf", "url:https://proceedings.mlsys.org/paper/x.pdf"),  # no scheme
    ("doi.org/10.1145/3373376.3378508", "doi:10.1145/3373376.3378508"),
    ("", None),
    ("not a link", None),
    # as pasted from a mail, a chat or a sentence: wrapped, quoted, punctuated, invisible characters
    ("<https://arxiv.org/abs/2201.12023v2>", "arxiv:2201.12023"),
    ("arXiv:2201.12023v3.", "arxiv:2201.12023"),
    ("(arXiv:2201.12023v3),", "arxiv:2201.12023"),
    ("https://arxiv.org/abs/2201.12023v2\u200b", "arxiv:2201.12023"),
    ("\ufeff\u201c2201.12023v1\u201d", "arxiv:2201.12023"),
    ("[Alpa](https://arxiv.org/abs/2201.12023v2)", "arxiv:2201.12023"),
    ("arxiv.org/abs/2201.12023v2,", "arxiv:2201.12023"),
    ("https://example.org/a/paper.pdf).", "url:https://example.org/a/paper.pdf"),
    ("10.1016/S0140-6736(20)30183-5", "doi:10.1016/s0140-6736(20)30183-5"),  # its own brackets stay
    ("https://en.wikipedia.org/wiki/Roofline_(model)", "url:https://en.wikipedia.org/wiki/Roofline_(model)"),
])
def test_canonical_source(link, canonical):
    from paperdojo.library.identity import canonical_source

    assert canonical_source(link) == canonical


def test_ids_fall_back_to_title_then_hash():
    from paperdojo.library.identity import paper_id, useful_slug

    assert useful_slug("深度学习编译器") == "" and useful_slug("download (1)") == ""
    assert useful_slug("🙂") == ""
    assert useful_slug("Alpa v3 final") == "alpa-v3-final"
    assert paper_id([], "深度学习编译器", "Otter: Compiling Deep Learning Graphs", "x") == \
        "otter-compiling-deep-learning-graphs"
    a, b = paper_id([], "张量程序优化", "", "sha-a"), paper_id([], "深度学习编译器", "", "sha-b")
    assert a.startswith("paper-") and b.startswith("paper-") and a != b
    assert paper_id(["tvm", "tvm-2"], "TVM") == "tvm-3"
    # a title's links and tags name no paper (the html-in-paper-text kind)
    assert paper_id([], "Wombat [click](http://127.0.0.1:8899/t) <style>x</style> Scheduler") == \
        "wombat-click-x-scheduler"
    assert useful_slug("<img src=http://127.0.0.1:8899/a.png>") == ""
    assert useful_slug("See https://example.org/paper.pdf") == "see"


@pytest.fixture
def reading_list_settings(tmp_path):
    """A home beside the project's real reading list (Alpa is https://arxiv.org/abs/2201.12023)."""
    settings = make_settings(tmp_path / "home", reading_list=PROJECT_ROOT / "ingest" / "papers.toml")
    settings.home.mkdir()
    return settings


@pytest.mark.parametrize("spec", ["2201.12023v3", "https://arxiv.org/abs/2201.12023v1", "arXiv:2201.12023",
                                  "https://arxiv.org/pdf/2201.12023v2.pdf", "arxiv.org/abs/2201.12023v2",
                                  "http://arxiv.org/pdf/2201.12023v2.PDF", "arXiv:2201.12023v2 [cs.DC]",
                                  "https://huggingface.co/papers/2201.12023",
                                  "<https://arxiv.org/abs/2201.12023v2>", "arXiv:2201.12023v3.",
                                  "arxiv.org/abs/2201.12023v2,", "https://arxiv.org/abs/2201.12023\u200b"])
def test_versioned_arxiv_id_is_the_reading_lists_alpa(reading_list_settings, spec):
    paper = ingest.add_source(reading_list_settings, spec)
    assert paper.id == "alpa" and paper.origin == "reading-list"
    assert not [p for p in catalog.load_catalog(reading_list_settings) if p.origin == "user"]


def test_cli_add_versioned_id_names_alpa(reading_list_settings, capsys, monkeypatch):
    monkeypatch.setenv("PAPERDOJO_READING_LIST", str(reading_list_settings.reading_list))
    assert main(["--home", str(reading_list_settings.home), "add", "2201.12023v3", "--no-ingest"]) == 0
    assert "alpa" in capsys.readouterr().err
    assert not reading_list_settings.library_file.exists()


def _home(tmp_path, reading_list: str = ""):
    settings = make_settings(tmp_path / "home")
    settings.home.mkdir()
    settings.reading_list.write_text(reading_list)
    return settings


def _two_cjk_named_pdfs(folder):
    """Two different papers whose file names (CJK) reduce to no ASCII id at all."""
    folder.mkdir(parents=True, exist_ok=True)
    otter = [[("h", "Otter: Compiling Deep Learning Graphs"), ("h", "Abstract"),
              "Otter lowers deep learning graphs to fused kernels with a cost model.",
              ("h", "1 Introduction"), "The otter compiler fuses elementwise chains into one kernel."]]
    badger = [[("h", "Badger: Optimizing Tensor Programs"), ("h", "Abstract"),
               "Badger searches tensor program schedules with learned rewards.",
               ("h", "1 Introduction"), "The badger tuner ranks loop tilings by measured latency."]]
    make_pdf(folder / "深度学习编译器.pdf", otter, header=None,
             title_meta="Otter: Compiling Deep Learning Graphs")
    make_pdf(folder / "张量程序优化.pdf", badger, header=None,
             title_meta="Badger: Optimizing Tensor Programs")
    return folder


def _check_two_distinct(settings, report, words: dict[str, str]):
    indexed = [d for d in report.docs if d.status == "indexed"]
    assert len(indexed) == 2 and len({d.id for d in indexed}) == 2
    assert len({d.sha256 for d in indexed}) == 2  # two cached files, neither overwritten
    for d in indexed:
        assert ingest.sha256_file(settings.pdf_dir / f"{d.id}.pdf") == d.sha256
    index = store.load_index(settings.index_dir)
    for word, title_word in words.items():  # each paper's text is under its own id and title
        docs = {c.doc_id for c in index.chunks if word in c.text.lower()}
        assert len(docs) == 1
        doc = next(d for d in indexed if d.id in docs)
        assert title_word in doc.title


def test_same_slug_names_are_two_papers(tmp_path, embedder):
    settings = _home(tmp_path)
    folder = _two_cjk_named_pdfs(tmp_path / "cjk")
    report = ingest.ingest(settings, [folder], embedder=embedder)
    _check_two_distinct(settings, report, {"otter compiler": "Otter", "badger tuner": "Badger"})
    again = ingest.ingest(settings, [folder], embedder=embedder)  # stable: nothing new, nothing redone
    assert again.embedded_docs == 0 and len(catalog.load_catalog(settings)) == 2


def test_shared_same_slug_case(tmp_path, embedder, shared):
    """The field case itself (../shared/cases/same-slug-names), read where it lies."""
    settings = _home(tmp_path)
    report = ingest.ingest(settings, [shared / "cases" / "same-slug-names"], embedder=embedder)
    indexed = [d for d in report.docs if d.status == "indexed"]
    assert len(indexed) == 2 and len({d.sha256 for d in indexed}) == 2
    assert {d.title.split(":")[0] for d in indexed} == {"Otter", "Badger"}


def test_same_name_in_two_folders_overwrites_nothing(tmp_path, embedder):
    settings = _home(tmp_path)
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    make_pdf(a / "My Paper.pdf", paper_pages("walrus schedules"))
    make_pdf(b / "my_paper.pdf", paper_pages("narwhal layouts"))
    report = ingest.ingest(settings, [a, b], embedder=embedder)
    _check_two_distinct(settings, report, {"walrus": "", "narwhal": ""})


def test_same_content_is_one_paper_whatever_path(tmp_path, embedder):
    """The reading list's download, a copy under another name in --pdf-dir, `add` of the file and
    of another copy (an upload): one entry, indexed once."""
    pdf = make_pdf(tmp_path / "srv.pdf", paper_pages("pelican pipelines"))
    with LocalServer() as srv:
        srv.routes["/pelican.pdf"] = Route(pdf.read_bytes())
        settings = _home(tmp_path, f'[[paper]]\nid = "pelican"\ntitle = "Pelican"\ncategory = "C"\n'
                                   f'link = "{srv.url("/pelican.pdf")}"\n')
        ingest.ingest(settings, embedder=embedder)
    local = tmp_path / "local"
    local.mkdir()
    shutil.copy(pdf, local / "pelican-v1 (copy).pdf")
    report = ingest.ingest(settings, [local], embedder=embedder)
    assert [(d.id, d.status) for d in report.docs] == [("pelican", "indexed")]
    upload1, upload2 = tmp_path / "upload-a1b2.pdf", tmp_path / "upload-c3d4.pdf"
    shutil.copy(pdf, upload1), shutil.copy(pdf, upload2)
    assert ingest.add_source(settings, str(upload1)).id == "pelican"
    assert ingest.add_source(settings, str(upload2)).id == "pelican"
    assert [p.id for p in catalog.load_catalog(settings)] == ["pelican"]
    index = store.load_index(settings.index_dir)
    assert {c.doc_id for c in index.chunks} == {"pelican"}


def _saved_again(src, dest, how: str):
    """`src` written again by another program: the same pages and words, other bytes."""
    import pypdf

    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(src))
    if how == "metadata":  # a reference manager stamping its own producer and title
        writer.add_metadata({"/Producer": "Zotero", "/Title": "pelican pipelines (annotated)"})
    elif how == "compressed":
        writer.compress_identical_objects(remove_duplicates=True, remove_unreferenced=True)
        for page in writer.pages:
            page.compress_content_streams()
    writer.write(dest)
    assert ingest.sha256_file(dest) != ingest.sha256_file(src)
    return dest


@pytest.mark.parametrize("how", ["metadata", "compressed"])
def test_the_same_paper_saved_again_is_indexed_once(tmp_path, embedder, how):
    """A copy of a paper written again by another program (new metadata, recompressed streams: other
    bytes, the same text) is the same content: in one batch, and added later, it is indexed once and
    its passages are not listed twice (h13break: three copies of otter.pdf were three papers)."""
    settings = _home(tmp_path)
    folder = tmp_path / "pdfs"
    folder.mkdir()
    original = make_pdf(folder / "pelican.pdf", paper_pages("pelican pipelines"))
    _saved_again(original, folder / "pelican (saved again).pdf", how)
    report = ingest.ingest(settings, [folder], embedder=embedder)
    statuses = sorted((d.status, d.same_as) for d in report.docs)
    assert [s for s, _ in statuses] == ["duplicate", "indexed"]
    indexed = next(d for d in report.docs if d.status == "indexed")
    assert statuses[0][1] == indexed.id
    assert {c.doc_id for c in store.load_index(settings.index_dir).chunks} == {indexed.id}
    assert ingest.ingest(settings, [folder], embedder=embedder).embedded_docs == 0  # stable
    other = _saved_again(original, tmp_path / "upload-9f3e.pdf",
                         "compressed" if how == "metadata" else "metadata")
    added = ingest.add(settings, str(other), embedder=embedder)
    assert added.known and added.paper.id == indexed.id and "nothing added" in added.message
    assert len(catalog.load_catalog(settings)) == 2  # the folder's two files, nothing more
    assert {c.doc_id for c in store.load_index(settings.index_dir).chunks} == {indexed.id}


def test_papers_that_differ_in_a_few_words_are_two(tmp_path, embedder):
    """Text alike but not the same (a revised version's changed number) stays two papers."""
    settings = _home(tmp_path)
    folder = tmp_path / "pdfs"
    folder.mkdir()
    pages = paper_pages("pelican pipelines")
    make_pdf(folder / "v1.pdf", pages)
    revised = [*pages[1][:-1], "Sentence 11 of page 2 says 42 percent."]
    make_pdf(folder / "v2.pdf", [pages[0], revised, *pages[2:]])
    report = ingest.ingest(settings, [folder], embedder=embedder)
    assert [d.status for d in report.docs] == ["indexed", "indexed"]


def test_a_link_to_a_known_file_adds_nothing(tmp_path, embedder):
    """`add` of a URL whose download is a paper already indexed: no second entry, no second copy."""
    pdf = make_pdf(tmp_path / "srv.pdf", paper_pages("heron allocators"))
    with LocalServer() as srv:
        srv.routes.update({"/heron.pdf": Route(pdf.read_bytes()),
                           "/mirror/heron-final.pdf": Route(pdf.read_bytes())})
        settings = _home(tmp_path, f'[[paper]]\nid = "heron"\ntitle = "Heron"\ncategory = "C"\n'
                                   f'link = "{srv.url("/heron.pdf")}"\n')
        ingest.ingest(settings, embedder=embedder)
        added = ingest.add(settings, srv.url("/mirror/heron-final.pdf"), embedder=embedder)
    assert added.known and added.paper.id == "heron" and added.status.status == "indexed"
    assert "same file as heron" in added.message
    assert [p.id for p in catalog.load_catalog(settings)] == ["heron"]
    assert sorted(p.name for p in settings.pdf_dir.iterdir()) == ["heron.pdf"]
    assert {c.doc_id for c in store.load_index(settings.index_dir).chunks} == {"heron"}


def test_two_reading_list_entries_with_one_file(tmp_path, embedder):
    pdf = make_pdf(tmp_path / "srv.pdf", paper_pages("ibis graphs"))
    with LocalServer() as srv:
        srv.routes.update({"/a.pdf": Route(pdf.read_bytes()), "/b.pdf": Route(pdf.read_bytes())})
        entries = "".join(f'[[paper]]\nid = "{i}"\ncategory = "C"\nlink = "{srv.url(f"/{i}.pdf")}"\n\n'
                          for i in ("a", "b"))
        settings = _home(tmp_path, entries)
        report = ingest.ingest(settings, embedder=embedder)
    docs = {d.id: d for d in report.docs}
    assert docs["a"].status == "indexed" and docs["b"].status == "duplicate" and docs["b"].same_as == "a"
    assert {c.doc_id for c in store.load_index(settings.index_dir).chunks} == {"a"}


def test_workspace_add_of_the_same_upload_twice(tmp_path):
    """The app's Add (through Workspace): the second upload of one PDF names the first paper."""
    from paperdojo.workspace import Workspace

    settings = _home(tmp_path)
    pdf = make_pdf(tmp_path / "Stork Scheduler.pdf", paper_pages("stork scheduling"))
    staged = [tmp_path / f"upload-{i}.pdf" for i in (1, 2)]
    for path in staged:
        shutil.copy(pdf, path)
    ws = Workspace(settings)
    try:
        first = ws.add(str(staged[0]))
        second = ws.add(str(staged[1]))
    finally:
        ws.embedder.close()
    assert first.status.status == "indexed" and not first.known
    assert second.known and second.paper.id == first.paper.id and "already in the library" in second.message
    assert len(catalog.load_catalog(settings)) == 1


def _paper(folder, name: str, animal: str, title: str = ""):  # noqa: ANN001, ANN202
    """A one-page PDF named `name` about `animal`, titled after it (or `title`)."""
    title = title or f"{animal.title()}: Invented Tensor Schedules"
    return make_pdf(folder / name, [[("h", title), ("h", "Abstract"),
                                     f"The {animal} planner orders tensor schedules by measured latency.",
                                     ("h", "1 Introduction"), f"The {animal} tuner ranks loop tilings."]],
                    header=None, title_meta=title)


def test_case_only_names_fill_one_reading_list_paper_each(tmp_path, embedder):
    """"Otter.pdf" and "otter.pdf" (two documents) beside a reading-list entry "otter": the exact
    name fills it, the other is a paper of its own; neither file overwrites the other's copy."""
    settings = _home(tmp_path, '[[paper]]\nid = "otter"\ntitle = "Otter"\ncategory = "C"\n')
    folder = tmp_path / "pdfs"
    folder.mkdir()
    _paper(folder, "Otter.pdf", "badger"), _paper(folder, "otter.pdf", "otter")
    report = ingest.ingest(settings, [folder], embedder=embedder)
    _check_two_distinct(settings, report, {"otter planner": "Otter", "badger planner": "Badger"})
    assert {d.id for d in report.docs} >= {"otter"}
    index = store.load_index(settings.index_dir)
    assert {c.doc_id for c in index.chunks if "otter planner" in c.text.lower()} == {"otter"}
    again = ingest.ingest(settings, [folder], embedder=embedder)  # stable
    assert again.embedded_docs == 0 and len(catalog.load_catalog(settings)) == 2


@pytest.mark.parametrize("names", [("—.pdf", "???.pdf", "🙂.pdf"), ("___.pdf", "(1).pdf", "-.pdf"),
                                   ("Paper.pdf", "paper.pdf", "PAPER (1).pdf")])
def test_names_that_reduce_to_nothing_are_distinct_papers(tmp_path, embedder, names):
    """File names without a useful slug (punctuation, emoji, generic words, case-only differences),
    three different documents, two of them with the same title: three papers, three cached files."""
    settings = _home(tmp_path)
    folder = tmp_path / "pdfs"
    folder.mkdir()
    for name, animal in zip(names, ("heron", "ibis", "stork"), strict=True):
        _paper(folder, name, animal, "Heron: Invented Tensor Schedules" if animal == "stork" else "")
    report = ingest.ingest(settings, [folder], embedder=embedder)
    indexed = [d for d in report.docs if d.status == "indexed"]
    assert len(indexed) == 3 and len({d.id for d in indexed}) == 3 and len({d.sha256 for d in indexed}) == 3
    for d in indexed:
        assert ingest.sha256_file(settings.pdf_dir / f"{d.id}.pdf") == d.sha256


def test_accented_and_full_width_names_fold_to_their_letters_and_stay_distinct(tmp_path, embedder):
    """"café.pdf" composed (NFC) and decomposed (NFD), and full-width "ＣＡＦＥ.pdf": three documents
    under names that fold to one slug are three papers "cafe", "cafe-2", "cafe-3" (the NFC name
    was "caf", an accent dropped with its letter), each with its own cached file and passages."""
    import unicodedata

    from paperdojo.library.identity import slugify

    assert slugify("école") == slugify("ÉCOLE") == "ecole" and slugify("ｏｔｔｅｒ") == "otter"
    settings = _home(tmp_path)
    folder = tmp_path / "pdfs"
    folder.mkdir()
    names = [unicodedata.normalize("NFC", "café.pdf"), unicodedata.normalize("NFD", "café.pdf"),
             "ＣＡＦＥ.pdf"]
    for name, animal in zip(names, ("lynx", "ocelot", "puffin"), strict=True):
        _paper(folder, name, animal)
    report = ingest.ingest(settings, [folder], embedder=embedder)
    indexed = [d for d in report.docs if d.status == "indexed"]
    assert sorted(d.id for d in indexed) == ["cafe", "cafe-2", "cafe-3"]
    for d in indexed:
        assert ingest.sha256_file(settings.pdf_dir / f"{d.id}.pdf") == d.sha256
    index = store.load_index(settings.index_dir)
    owners = {animal: {c.doc_id for c in index.chunks if f"{animal} planner" in c.text} for animal in
              ("lynx", "ocelot", "puffin")}
    assert all(len(ids) == 1 for ids in owners.values()) and len(set().union(*owners.values())) == 3


def test_an_untitled_paper_is_called_by_its_file_name(tmp_path, embedder):
    """Two PDFs without a title (no metadata, the page starts with "Abstract") under names that make
    no id: distinct hash ids, each shown by its file name, not by its hash id or "Abstract"."""
    settings = _home(tmp_path)
    folder = tmp_path / "pdfs"
    folder.mkdir()
    for name, animal in (("download (1).pdf", "ocelot"), ("تحسين.pdf", "lynx")):
        make_pdf(folder / name, [[("h", "Abstract"), f"The {animal} tiler chooses tile sizes for kernels."]],
                 header=None)
    report = ingest.ingest(settings, [folder], embedder=embedder)
    titles = {d.title for d in report.docs if d.status == "indexed"}
    assert titles == {"download (1)", "تحسين"}, titles
    assert all(d.id.startswith("paper-") for d in report.docs)
    index = store.load_index(settings.index_dir)
    assert {c.title for c in index.chunks if "lynx" in c.text} == {"تحسين"}


@pytest.mark.parametrize("spec", ["missing.pdf", "my missing paper.pdf", "./sub/missing.pdf",
                                  "~/nowhere-h11.pdf", "file:///nowhere-h11/x.pdf"])
def test_a_missing_file_is_said_to_be_missing(tmp_path, spec):
    """A path that names no file is not 'not a link, arXiv id or DOI'."""
    settings = _home(tmp_path)
    with pytest.raises(ValueError, match="no such file"):
        ingest.add_source(settings, spec)
    with pytest.raises(ValueError, match="is a folder, not a paper.*--pdf-dir"):
        ingest.add_source(settings, str(tmp_path))
    for blank in ("", "   ", "''", "<>"):  # was "  is a folder, not a paper" (the current folder)
        with pytest.raises(ValueError, match="nothing to add"):
            ingest.add_source(settings, blank)
    assert catalog.load_catalog(settings) == []


@pytest.mark.parametrize("how", ["quoted", "file-url"])
def test_a_file_named_as_pasted_is_added(tmp_path, embedder, how):
    """A path copied with quotes around it, or a file:// URL from a browser's address bar."""
    settings = _home(tmp_path)
    pdf = make_pdf(tmp_path / "my paper.pdf", paper_pages("stoat compaction"), title_meta="Stoat: Compaction")
    spec = f"'{pdf}'" if how == "quoted" else pdf.as_uri()
    paper = ingest.add_source(settings, spec)
    assert paper.file == str(pdf.resolve()) and paper.origin == "user"


def test_cli_error_shows_the_files_text_as_it_is(tmp_path, capsys):
    """rich would turn ':x:' of a quoted file into an emoji: the CLI prints text as it is."""
    notes = tmp_path / "notes.pdf"
    notes.write_text("root:x:0:0 :smile: [b]not bold[/b]\n")
    assert main(["--home", str(tmp_path / "home"), "add", str(notes), "--no-ingest"]) != 0
    err = " ".join(capsys.readouterr().err.split())
    assert "root:x:0:0 :smile: [b]not bold[/b]" in err


def test_a_paper_whose_file_and_cached_copy_are_gone_says_so(tmp_path, embedder):
    """An added PDF deleted with its cached copy is 'not there any more', not 'no link: a local file only'."""
    settings = _home(tmp_path)
    pdf = make_pdf(tmp_path / "gannet.pdf", paper_pages("gannet batching"), title_meta="Gannet: Batching")
    paper = ingest.add_source(settings, str(pdf))
    pdf.unlink()
    (settings.pdf_dir / f"{paper.id}.pdf").unlink()
    status = {d.id: d for d in ingest.ingest(settings, embedder=embedder).docs}[paper.id]
    assert status.status == "missing"
    assert f"its file {pdf.resolve()} is not there any more" in status.reason


@pytest.mark.parametrize("typed", ["/etc/passwd", "{pdf}", "'{pdf}'", "file://{pdf}", "missing.pdf",
                                   "{folder}"])
def test_the_apps_link_field_reads_no_file_of_the_server(tmp_path, typed):
    """What a web client types in the Library's link field is a link: a server path is refused
    without reading it (the 'not a PDF' message quoted the first line of /etc/passwd) or saying
    where the server looked; an upload is the way to add a PDF."""
    import gradio as gr

    from paperdojo.app.library import add
    from paperdojo.workspace import Workspace

    settings = _home(tmp_path)
    pdf = make_pdf(tmp_path / "Stork Scheduler.pdf", paper_pages("stork scheduling"))
    ws = Workspace(settings)
    try:
        outputs = add(ws, typed.format(pdf=pdf, folder=tmp_path), None, None, gr.Progress())
    finally:
        ws.embedder.close()
    message = next(str(o) for o in outputs if "\u26a0" in str(o))  # the Library's message line
    assert "give a link here" in message and "upload a PDF" in message
    assert "root:x" not in message and "looked in" not in message and "Stork" not in message
    assert catalog.load_catalog(settings) == []
