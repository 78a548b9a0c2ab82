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


def test_broken_reading_list(settings):
    settings.reading_list.parent.mkdir(parents=True, exist_ok=True)
    settings.reading_list.write_text("[[paper]]\nid = 'x'\n")
    with pytest.raises(CatalogError, match="lacks category"):
        catalog.load_catalog(settings)
    settings.reading_list.write_text("[[paper\n")
    with pytest.raises(CatalogError, match="not valid TOML"):
        catalog.load_catalog(settings)
