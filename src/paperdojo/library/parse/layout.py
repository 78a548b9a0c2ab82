"""Text as a reader sees it: invisible duplicates dropped, columns read one after the other.

PDFium gives a page's text in the order the PDF writes it, with a line break where the text jumps
to a new line. Two things go wrong in real files:

- OCR tools leave the recognized text as an invisible layer (text render mode 3) over the page;
  when the page also carries visible text at the same place, every line is read twice.
- A two-column page whose PDF writes the columns' lines alternately (or a line of each column on
  the same baseline, which PDFium joins into one line) is read across the gutter.

This module works on the lines of PDFium's text and their rectangles (`FPDFText_CountRects`, about
one rectangle per text object, far cheaper than a box per character) in the page's upright frame
(`orient.Frame`: text upright, origin at the crop box's corner, whatever /Rotate or the content's
matrix say): an invisible line whose rectangle lies on visible text (or on an invisible line kept
before it) with the same words is dropped;
a page is two-column when a vertical gutter in the middle of the page is crossed by few lines and
has enough lines on each side; its lines are then split at the gutter and read band by band (full-
width lines, e.g. a title or a wide figure, separate the bands): the left column top to bottom, then
the right column.
A page whose lines already come column by column keeps the PDF's order (it also carries what the
geometry cannot see, such as where a float or a footnote belongs).
"""

from __future__ import annotations

import ctypes
import re
from dataclasses import dataclass, field

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from paperdojo.library.parse.orient import Frame

_INVISIBLE = pdfium_c.FPDF_TEXTRENDERMODE_INVISIBLE
_LINE = re.compile(r"[^\r\n]+")
_WORDS = re.compile(r"\w+")
Rect = tuple[float, float, float, float]  # left, bottom, right, top in points, y upwards
FULL = -1  # the column of a piece that crosses a gutter (a title, a wide figure or table)


@dataclass
class Line:
    """One line of PDFium's text: text offsets [start, end), its rectangles (left, bottom, right,
    top in points of the upright frame, y upwards) in writing order, and whether its text is drawn
    invisibly."""

    start: int
    end: int
    rects: list[tuple[float, float, float, float]] = field(default_factory=list)
    invisible: bool = False

    @property
    def box(self) -> tuple[float, float, float, float]:
        """The box around all its rectangles: (min left, min bottom, max right, max top)."""
        return (min(r[0] for r in self.rects), min(r[1] for r in self.rects),
                max(r[2] for r in self.rects), max(r[3] for r in self.rects))


@dataclass
class Piece:
    """A line or the part of a line on one side of the gutter, with its box and column."""

    text: str
    box: tuple[float, float, float, float]
    column: int  # 0, 1, ... from the left, or FULL (crosses a gutter)
    order: int  # position in the PDF's writing order


def _lines(textpage: pdfium.PdfTextPage, text: str, frame: Frame) -> list[Line]:
    raw = textpage.raw
    left, top, right, bottom = (ctypes.c_double() for _ in range(4))
    refs = [ctypes.byref(x) for x in (left, top, right, bottom)]
    out = []
    for m in _LINE.finditer(text):
        line = Line(m.start(), m.end())
        first = pdfium_c.FPDFText_GetCharIndexFromTextIndex(raw, m.start())
        last = pdfium_c.FPDFText_GetCharIndexFromTextIndex(raw, m.end() - 1)
        if first >= 0 and last >= first:
            for k in range(pdfium_c.FPDFText_CountRects(raw, first, last - first + 1)):
                if pdfium_c.FPDFText_GetRect(raw, k, *refs):
                    line.rects.append(frame.rect((left.value, bottom.value, right.value, top.value)))
            obj = pdfium_c.FPDFText_GetTextObject(raw, first)
            line.invisible = bool(obj) and pdfium_c.FPDFTextObj_GetTextRenderMode(obj) == _INVISIBLE
        out.append(line)
    return out


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """The share of box a's area covered by box b."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    area = max(1e-6, (a[2] - a[0]) * (a[3] - a[1]))
    return max(0.0, w) * max(0.0, h) / area


def _grams(text: str) -> set[str]:
    """The character trigrams of `text`'s letters and digits, lower-cased: "parti- tioner" and
    "partitioner" have the same, "srnallest" (an OCR misreading) shares most of "smallest"'s."""
    letters = "".join(c for c in text.lower() if c.isalnum())
    return {letters[i : i + 3] for i in range(max(0, len(letters) - 2))}


def drop_invisible_duplicates(text: str, lines: list[Line]) -> list[Line]:
    """The lines without invisible ones that repeat text already on the page at about the same place:
    visible text, or an invisible line kept before it (a scan OCR'd twice leaves two invisible
    layers and no visible text). At least half of the invisible line's box lies on those lines
    widened by half its height up and down (an OCR layer a few points off), and they hold at least
    70% of its character trigrams (an OCR layer hyphenates and misreads a few letters: "parti-
    tioner", "srnallest"). Invisible text alone on its page (an OCR layer over a scan) is kept
    once: it is the only text."""
    if not any(ln.invisible for ln in lines):
        return lines
    shown = [ln for ln in lines if not ln.invisible and ln.rects]  # what a copy may repeat
    keep = []
    for ln in lines:
        if ln.invisible and ln.rects:
            if _repeats(text, ln, shown):
                continue
            shown.append(ln)
        keep.append(ln)
    return keep


def _repeats(text: str, line: Line, shown: list[Line]) -> bool:
    """Does `line` repeat the words of `shown` lines at about its place (see drop_invisible_duplicates)?"""
    box = line.box
    pad = (box[3] - box[1]) / 2
    near = [(v, (v.box[0], v.box[1] - pad, v.box[2], v.box[3] + pad)) for v in shown]
    under = [(v, wide) for v, wide in near if _overlap(box, wide) > 0]
    covered = sum(_overlap(box, wide) for _, wide in under)
    grams = _grams(text[line.start : line.end])
    seen = set().union(*(_grams(text[v.start : v.end]) for v, _ in under))
    return covered >= 0.5 and bool(grams) and len(grams & seen) >= 0.7 * len(grams)


def _gutter(groups: list[list[Rect]]) -> float | None:
    """The x of the gutter between two columns of `groups` (the rectangles of one line each, all on
    one side of any gutter found before), or None.

    The gutter is the x in the middle half of the groups' extent covered by the fewest groups; the
    text is two-column when at least 4 groups, and a quarter of the groups' parts, lie on each side
    and, among the groups whose height lies where both sides have text, at most 15% cross it, or
    at most half in at most 2 bands of consecutive lines (a wide table or figure between the
    columns' halves). Lines above or below the columns (a title, authors and an abstract in full
    width) are not counted against it."""
    if len(groups) < 8:
        return None
    x0, x1 = min(r[0] for g in groups for r in g), max(r[2] for g in groups for r in g)
    step = 2.0
    lo, hi = x0 + 0.25 * (x1 - x0), x0 + 0.75 * (x1 - x0)
    bins = int((hi - lo) / step) + 1
    cover = [0] * bins
    for g in groups:
        hit: set[int] = set()
        for r in g:
            if r[2] < lo or r[0] > hi:
                continue
            a = max(0, int((r[0] - lo) / step))
            b = min(bins - 1, int((r[2] - lo) / step))
            hit.update(range(a, b + 1))
        for i in hit:
            cover[i] += 1
    least = min(cover)
    # the middle of the widest run of least-covered bins
    best, run_start, best_len = None, None, 0
    for i in range(bins + 1):
        if i < bins and cover[i] == least:
            run_start = i if run_start is None else run_start
            continue
        if run_start is not None and i - run_start > best_len:
            best, best_len = (run_start + i - 1) / 2, i - run_start
        run_start = None
    if best is None or best_len * step < 4:
        return None
    gutter = lo + best * step + step / 2
    left = [g for g in groups if any(r[2] <= gutter for r in g)]
    right = [g for g in groups if any(r[0] >= gutter for r in g)]
    parts = len(left) + len(right)
    if min(len(left), len(right)) < 4 or min(len(left), len(right)) < 0.25 * parts:
        return None
    # where both columns have text: from the lower of the two columns' tops to the higher bottom
    top = min(max(r[3] for g in side for r in g) for side in (left, right))
    bottom = max(min(r[1] for g in side for r in g) for side in (left, right))
    within = sorted((g for g in groups if bottom <= (min(r[1] for r in g) + max(r[3] for r in g)) / 2 <= top),
                    key=lambda g: -max(r[3] for r in g))
    crossed = [any(r[0] < gutter < r[2] for r in g) for g in within]
    bands = sum(c and (i == 0 or not crossed[i - 1]) for i, c in enumerate(crossed))
    if sum(crossed) > 0.15 * len(within) and (bands > 2 or sum(crossed) > 0.5 * len(within)):
        return None
    return gutter


def find_gutters(lines: list[Line], page_width: float, depth: int = 2) -> list[float]:
    """The x of each gutter of a page set in columns (PDF points, left to right), [] for a page of
    another shape.

    Lines at least a tenth of the page wide are measured (page numbers, labels and formula pieces
    aside). A gutter is searched for in the lines' extent (`_gutter`), then again on each side of
    it among the parts of lines that lie on that side, `depth` times: three columns have two gutters."""
    if page_width <= 0:
        return []
    groups = [list(ln.rects) for ln in lines if ln.rects and ln.box[2] - ln.box[0] >= 0.1 * page_width]
    return _gutters(groups, page_width, depth)


def _gutters(groups: list[list[Rect]], page_width: float, depth: int) -> list[float]:
    gutter = _gutter(groups)
    if gutter is None:
        return []
    if depth <= 1:
        return [gutter]
    sides = []
    for keep in (lambda r: r[2] <= gutter, lambda r: r[0] >= gutter):
        side = [[r for r in g if keep(r)] for g in groups if not any(r[0] < gutter < r[2] for r in g)]
        side = [g for g in side if g and max(r[2] for r in g) - min(r[0] for r in g) >= 0.1 * page_width]
        sides.append(_gutters(side, page_width, depth - 1))
    return [*sides[0], gutter, *sides[1]]


def find_gutter(lines: list[Line], page_width: float) -> float | None:
    """The x of a two-column page's gutter (PDF points), or None for a page of another shape
    (one column, or more than two: see `find_gutters`)."""
    gutters = find_gutters(lines, page_width)
    return gutters[0] if len(gutters) == 1 else None


def column_of(box: Rect, gutters: list[float]) -> int:
    """The column (0 from the left) of a box between the gutters, `FULL` when it crosses one."""
    if any(box[0] < g < box[2] for g in gutters):
        return FULL
    return sum(box[0] >= g for g in gutters)


def _pieces(textpage: pdfium.PdfTextPage, text: str, lines: list[Line], gutters: list[float],
            frame: Frame) -> list[Piece]:
    """Lines cut at the gutters where they have a gap there, each part given its column; a line
    without geometry (zero-size glyphs) goes with the piece before it."""
    raw = textpage.raw
    out: list[Piece] = []
    for ln in lines:
        if not ln.rects:
            before = out[-1] if out else None
            out.append(Piece(text[ln.start : ln.end], before.box if before else (0, 0, 0, 0),
                             before.column if before else FULL, len(out)))
            continue
        columns = [column_of(r, gutters) for r in ln.rects]
        if FULL in columns or len(set(columns)) == 1:
            out.append(Piece(text[ln.start : ln.end], ln.box, columns[0] if len(set(columns)) == 1 else FULL,
                             len(out)))
            continue
        # parts in several columns on one line: cut where the first rectangle of each column starts
        cuts, ok = [ln.start], True
        for column in sorted(set(columns))[1:]:
            first = min((r for r, c in zip(ln.rects, columns, strict=True) if c == column),
                        key=lambda r: r[0])
            x, y = frame.page_point(first[0] + 0.5, (first[1] + first[3]) / 2)
            char = pdfium_c.FPDFText_GetCharIndexAtPos(raw, x, y, 1.0, 1.0)
            cut = pdfium_c.FPDFText_GetTextIndexFromCharIndex(raw, char) if char >= 0 else -1
            ok = ok and cuts[-1] < cut < ln.end
            cuts.append(cut)
        if not ok:
            out.append(Piece(text[ln.start : ln.end], ln.box, FULL, len(out)))
            continue
        cuts.append(ln.end)
        for column, a, b in zip(sorted(set(columns)), cuts, cuts[1:], strict=False):
            rects = [r for r, c in zip(ln.rects, columns, strict=True) if c == column]
            box = (min(r[0] for r in rects), min(r[1] for r in rects),
                   max(r[2] for r in rects), max(r[3] for r in rects))
            out.append(Piece(text[a:b].strip(), box, column, len(out)))
    return out


def _out_of_order(pieces: list[Piece], page_width: float, columns: int) -> bool:
    """Does the writing order differ from reading the columns one after the other?

    Counted on lines of running text (at least half a column wide, five words, 70% letters: not table
    rows, author names or formula pieces). Either the order goes back and forth between the columns,
    line after line: a switch to another column counts when it lands on the line just below the one
    last read in that column (a table's repeated header or a float does not), at least 4 such
    switches (a short page whose columns share only four rows, its headings too short to count)
    and more than a quarter of the lines; or more than a quarter of the pairs of lines are
    written in the order opposite to `column_order` (the right column written before the left, lines
    written in no order). A page whose PDF writes the columns one after the other, floats and
    footnotes aside, or the panels of a figure row by row, keeps the PDF's order."""
    prose = [p for p in pieces if p.column != FULL and p.box[2] - p.box[0] >= 0.5 * page_width / columns
             and _prose(p.text)]
    last: dict[int, Piece] = {}
    switches = 0
    for a, b in zip(prose, prose[1:], strict=False):
        last[a.column] = a
        before = last.get(b.column)
        height = max(1.0, b.box[3] - b.box[1])
        if a.column != b.column and before and 0 < before.box[1] - b.box[1] <= 2.5 * height:
            switches += 1
    if switches >= 4 and switches > 0.25 * len(prose):
        return True
    rank = {id(p): i for i, p in enumerate(q for q in column_order(pieces) if any(q is r for r in prose))}
    ranks = [rank[id(p)] for p in prose]
    n = len(ranks)
    inverted = sum(ranks[i] > ranks[j] for i in range(n) for j in range(i + 1, n))
    return n >= 8 and inverted > 0.25 * n * (n - 1) / 2


def _prose(text: str) -> bool:
    compact = text.replace(" ", "")
    return len(text.split()) >= 5 and sum(c.isalpha() for c in compact) >= 0.7 * max(1, len(compact))


def column_order(pieces: list[Piece]) -> list[Piece]:
    """Band by band from the top (full-width pieces separate the bands): each column top to bottom,
    from the left, then the full-width piece below them."""
    full = sorted((p for p in pieces if p.column == FULL), key=lambda p: -(p.box[1] + p.box[3]))
    bands: list[list[Piece]] = [[] for _ in range(len(full) + 1)]
    for p in pieces:
        if p.column == FULL:
            continue
        middle = (p.box[1] + p.box[3]) / 2
        below = sum((f.box[1] + f.box[3]) / 2 > middle for f in full)
        bands[below].append(p)
    out: list[Piece] = []
    for i, band in enumerate(bands):
        for column in sorted({p.column for p in band}):
            out.extend(sorted((p for p in band if p.column == column), key=lambda p: (-p.box[1], p.box[0])))
        if i < len(full):
            out.append(full[i])
    return out


def reading_text(textpage: pdfium.PdfTextPage, text: str, frame: Frame) -> str:
    """The page's text in reading order, lines separated by "\\n"; `text` unchanged when there is
    nothing to fix (no invisible duplicate, no interleaved columns). `textpage` and `frame` come
    from `orient.upright_textpage`."""
    lines = _lines(textpage, text, frame)
    kept = drop_invisible_duplicates(text, lines)
    width = frame.width
    gutters = find_gutters(kept, width)
    if gutters:
        pieces = _pieces(textpage, text, kept, gutters, frame)
        if _out_of_order(pieces, width, len(gutters) + 1):
            return "\n".join(p.text for p in column_order(pieces))
    if len(kept) == len(lines):
        return text
    return "\n".join(text[ln.start : ln.end] for ln in kept)
