"""The reading list and how each of its links is fetched."""

from __future__ import annotations

import re

import pytest

from paperdojo.library import catalog
from paperdojo.library.catalog import CatalogError, Paper
from paperdojo.library.sources import arxiv_id, resolve
from paperdojo.settings import PROJECT_ROOT, Settings


@pytest.mark.parametrize(
    ("link", "kind", "url"),
    [
        ("https://arxiv.org/abs/2201.12023", "pdf", "https://arxiv.org/pdf/2201.12023"),
        ("https://arxiv.org/pdf/1801.04405", "pdf", "https://arxiv.org/pdf/1801.04405"),
        ("2201.12023v2", "pdf", "https://arxiv.org/pdf/2201.12023v2"),
        ("https://hal.inria.fr/hal-02306566", "pdf", "https://hal.inria.fr/hal-02306566/document"),
        ("https://inria.hal.science/hal-02306566/document", "pdf",
         "https://inria.hal.science/hal-02306566/document"),
        ("https://github.com/sophgo/tpu-mlir", "markdown",
         "https://raw.githubusercontent.com/sophgo/tpu-mlir/HEAD/README.md"),
        ("https://accelergy.mit.edu/timeloop.pdf", "pdf", "https://accelergy.mit.edu/timeloop.pdf"),
        ("https://ieeexplore.ieee.org/document/9099108", "paywalled", None),
        ("https://example.org/posts/triton/", "auto", "https://example.org/posts/triton/"),
        # copied from an address bar without its scheme
        ("proceedings.mlsys.org/paper/x.pdf", "pdf", "https://proceedings.mlsys.org/paper/x.pdf"),
        ("www.usenix.org/system/files/osdi22-zheng-lianmin.pdf", "pdf",
         "https://www.usenix.org/system/files/osdi22-zheng-lianmin.pdf"),
        ("doi.org/10.1145/3373376.3378508", "pdf", "https://doi.org/10.1145/3373376.3378508"),
        ("github.com/apache/tvm", "markdown", "https://raw.githubusercontent.com/apache/tvm/HEAD/README.md"),
    ],
)
def test_resolve(link, kind, url):
    plan = resolve(link)
    assert (plan.kind, plan.url) == (kind, url)


def test_paywalled_with_open_copy():
    plan = resolve("https://ieeexplore.ieee.org/document/8425174",
                   open_copy="https://inria.hal.science/hal-01828312/document")
    assert plan.kind == "pdf" and plan.url.endswith("hal-01828312/document")
    assert "paywalled" in plan.note


def test_not_a_link():
    with pytest.raises(ValueError, match="not a link"):
        resolve("ftp://x/y.pdf")
    with pytest.raises(ValueError, match="not a link, arXiv id or DOI.*a PDF file"):
        resolve("attention is all you need")  # words, not an address: what to give instead
    for name in ("paper.pdf", "notes/paper.pdf", "tvm"):  # a file name is no host
        with pytest.raises(ValueError, match="not a link"):
            resolve(name)
    assert arxiv_id("https://example.org/abs/1234.5678") is None


def test_reading_list_is_complete():
    papers = catalog.load_catalog(Settings(home=PROJECT_ROOT / "no-such-home"))
    assert len(papers) == 20 and len({p.id for p in papers}) == 20
    assert {p.category for p in papers} == {
        "Auto-tuning", "Graph optimizations", "Graph scheduling", "Hardware design-space exploration",
        "End-to-end ML compiler frameworks", "Data layout"}
    kinds = {p.id: p.plan().kind for p in papers}
    assert kinds["triton-intro"] == "html" and kinds["tpu-mlir"] == "markdown"
    assert kinds["chipyard"] == "paywalled" and kinds["dag-memory-scheduling"] == "pdf"
    assert kinds["tpu-mlir-paper"] == "pdf"


def test_reading_list_follows_shared_list(shared):
    """Every link of ../shared/reading-list.md is in papers.toml, in the same order."""
    links = re.findall(r"https?://\S+?(?=\s|\\|$)", (shared / "reading-list.md").read_text())
    ours = [p.link for p in catalog.load_catalog(Settings(home=PROJECT_ROOT / "x"))]
    assert len(links) == 19
    assert [link for link in ours if link in links] == links


def test_user_library_add_remove(settings):
    settings.home.mkdir(parents=True)
    settings.reading_list.write_text('[[paper]]\nid = "tvm"\ntitle = "TVM"\ncategory = "C"\n'
                                     'link = "https://arxiv.org/abs/1802.04799"\n')
    catalog.add_paper(settings, Paper("mine", "My \"quoted\" paper", "Mine", link="https://x.org/a.pdf"))
    papers = catalog.load_catalog(settings)
    assert [(p.id, p.origin) for p in papers] == [("tvm", "reading-list"), ("mine", "user")]
    assert papers[1].title == 'My "quoted" paper'
    with pytest.raises(CatalogError, match="reading list"):
        catalog.add_paper(settings, Paper("tvm", "", "C"))
    with pytest.raises(CatalogError, match="reading list"):
        catalog.remove_paper(settings, "tvm")
    assert [p.id for p in catalog.remove_paper(settings, "mine")] == ["tvm"]


def test_user_files_keep_any_title_and_category(settings):
    """A title from a PDF's metadata may hold characters TOML does not allow raw (DEL, other
    controls, quotes, backslashes): library.toml and categories.toml stay readable and exact."""
    settings.home.mkdir(parents=True)
    settings.reading_list.write_text('[[paper]]\nid = "tvm"\ntitle = "TVM"\ncategory = "C"\n'
                                     'link = "https://arxiv.org/abs/1802.04799"\n')
    odd = 'Odd\x7f \x1b[31m "title" \\ with\ttab \u2028 é'
    catalog.add_paper(settings, Paper("odd", odd, "Mine", link="https://x.org/a.pdf"))
    catalog.set_category(settings, "tvm", 'Compilers "and" \x7fmore')
    catalog.set_category(settings, "odd", "Elsewhere")
    papers = {p.id: p for p in catalog.load_catalog(settings)}
    assert papers["odd"].title == odd and papers["odd"].category == "Elsewhere"
    assert papers["odd"].link == "https://x.org/a.pdf" and papers["odd"].origin == "user"
    assert papers["tvm"].category == 'Compilers "and" \x7fmore'
    assert settings.library_file.read_text(encoding="utf-8").startswith("# Papers you added")


def test_broken_reading_list(settings):
    settings.reading_list.parent.mkdir(parents=True, exist_ok=True)
    settings.reading_list.write_text("[[paper]]\nid = 'x'\n")
    with pytest.raises(CatalogError, match="lacks category"):
        catalog.load_catalog(settings)
    settings.reading_list.write_text("[[paper\n")
    with pytest.raises(CatalogError, match="not valid TOML"):
        catalog.load_catalog(settings)


@pytest.mark.parametrize("link", ["http://[::1/x.pdf", "http://example.org:99999/a.pdf",
                                  "http://exa mple.org/a", "https://example.org/a\x00.pdf",
                                  "https:///nohost.pdf"])
def test_unusable_links_are_named(link):
    with pytest.raises(ValueError, match="not a usable link"):
        resolve(link)


def test_doi_links_resolve_to_the_publisher():
    for link in ["10.1145/3373376.3378508", "doi:10.1145/3373376.3378508"]:
        plan = resolve(link)
        assert (plan.kind, plan.url) == ("pdf", "https://doi.org/10.1145/3373376.3378508")
    assert resolve("https://doi.org/10.48550/arXiv.2201.12023").url == "https://arxiv.org/pdf/2201.12023"


def test_add_a_link_without_its_scheme(settings):
    """"proceedings.mlsys.org/paper/x.pdf" pasted in the add box is the https link, one paper with it."""
    from paperdojo.library.ingest import add_source

    settings.home.mkdir(parents=True)
    settings.reading_list.write_text("")
    paper = add_source(settings, "proceedings.mlsys.org/paper/2022/alpa.pdf")
    assert paper.link == "https://proceedings.mlsys.org/paper/2022/alpa.pdf" and paper.id == "alpa"
    assert add_source(settings, "https://proceedings.mlsys.org/paper/2022/alpa.pdf").id == "alpa"
    assert [p.id for p in catalog.load_catalog(settings)] == ["alpa"]
