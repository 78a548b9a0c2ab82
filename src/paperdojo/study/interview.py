"""Mock interviews: questions with provenance, grading against the papers, progress over time.

Without a language model an answer is graded against the key concepts of the reference passages
(phrases chosen by corpus term statistics and by the embedding model's similarity to the
question), plus its semantic similarity to those passages. The grade says what was covered, what
was missed (each missed concept with the passage that explains it) and gives a model answer with
citations. Attempts are stored in SQLite the moment they are typed (before grading) and drive a
spaced-repetition schedule (FSRS) that leans on weak topics.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
import tomllib
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from fsrs import Card, Rating, Scheduler

from paperdojo.answering.answer import Answer, Answerer
from paperdojo.answering.retrieve import Filters, Hit
from paperdojo.library.chunk import sentence_spans
from paperdojo.study.rubric import Rubric, grade_with_model

GENERIC_SECTIONS = {
    "introduction", "evaluation", "conclusion", "conclusions", "related work", "experiments",
    "results", "implementation", "background", "acknowledgments", "acknowledgements",
    "acknowledgment", "acknowledgement", "discussion", "setup", "experimental setup", "summary",
    "motivation", "overview", "abstract", "front matter", "future work", "limitations", "appendix",
    "references", "methodology", "method", "design", "case studies", "notation",
}
STOP = {
    "the", "a", "an", "of", "and", "or", "to", "in", "on", "for", "with", "by", "is", "are", "be",
    "as", "at", "this", "that", "these", "those", "it", "its", "we", "our", "from", "can", "which",
    "each", "such", "into", "than", "then", "also", "not", "but", "if", "when", "while", "all",
    "only", "more", "most", "other", "their", "they", "has", "have", "been", "was", "were", "how",
    "what", "why", "does", "do", "use", "uses", "used", "using", "one", "two", "both", "per", "e.g",
    "i.e", "so", "same", "between", "different", "new", "well", "however", "would", "could",
    "may", "will", "there", "where", "because", "over", "under", "up", "out", "no", "any", "like",
    "got", "get", "gets", "become", "becomes", "make", "makes", "made", "take", "takes", "show",
    "shows", "shown", "need", "needs", "allow", "allows", "let", "lets", "based", "given", "called",
    "see", "note", "thus", "hence", "much", "many", "very", "first", "second", "since", "after",
    "without", "within", "among", "via", "whether", "although", "though", "unlike", "whose", "against",
    "toward", "towards", "upon", "across", "along", "around", "through", "during", "before", "above",
    "below", "instead", "rather", "even", "still", "yet", "just", "here", "therefore", "moreover",
    "owing", "due",
}
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9\-]*")


@dataclass
class Question:
    id: str
    text: str
    papers: list[str]
    category: str
    difficulty: int = 2  # 1 warm-up, 2 core, 3 deep
    source: str = "bank"  # bank (ours) | generated (from a section)


@dataclass
class Concept:
    phrase: str
    hit: Hit  # the reference passage that explains it
    covered: bool = False


@dataclass
class Grade:
    score: float  # 0-10
    covered: list[Concept]
    missing: list[Concept]
    similarity: float
    reasons: list[str]
    model_answer: Answer
    references: list[Hit] = field(default_factory=list)
    rubric: Rubric | None = None  # with a language model: its rubric points, met or not
    follow_up: str = ""  # a question that probes deeper
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- questions
def load_bank(path: Path) -> list[Question]:
    if not path.exists():
        return []
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    out = []
    for i, q in enumerate(data.get("question", []), 1):
        missing = {"text", "papers", "category"} - q.keys()
        if missing:
            raise ValueError(f"{path}: question #{i} lacks {', '.join(sorted(missing))}")
        out.append(Question(q.get("id") or f"bank-{i}", q["text"], list(q["papers"]), q["category"],
                            int(q.get("difficulty", 2)), "bank"))
    return out


def generated_questions(manifest_docs: dict, chunks: list) -> list[Question]:
    """One question per specific section of each indexed paper ("explain 3.2 Intra-op pass")."""
    seen, out = set(), []
    for c in chunks:
        key = (c.doc_id, c.section)
        if key in seen:
            continue
        seen.add(key)
        m = re.match(r"^((?:\d+|[IVX]+|[A-H])(?:\.\d+)*)\.?\s+(.*)$", c.section)
        number, name = (m.group(1), m.group(2)) if m else ("", c.section)
        if name.lower().strip(" :") in GENERIC_SECTIONS or len(name) < 4 or number[:1].isalpha() \
                and number[:1] not in "IVX":
            continue
        doc = manifest_docs.get(c.doc_id, {})
        short = (doc.get("title") or c.title).split(":")[0].strip()
        depth = number.count(".") + 1 if number else 1
        out.append(Question(f"gen:{c.doc_id}:{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}",
                            f"In {short}, what is \"{name}\" about, and why does it matter?",
                            [c.doc_id], doc.get("category", ""), min(3, depth), "generated"))
    return out


# --------------------------------------------------------------------------- grading
class Grader:
    def __init__(self, answerer: Answerer, n_concepts: int = 12) -> None:
        self.answerer = answerer
        self.retriever = answerer.retriever
        self.embedder = self.retriever.embedder
        self.stem = self.retriever.stemmer.stemWord
        self.n_concepts = n_concepts
        self.concept_threshold = 0.65  # a sentence this similar to a concept covers it
        self.key_sentences = 16  # reference sentences most relevant to the question
        self.full_coverage = 1.0  # share of the concepts that earns full marks (lower ones tied more)
        df: Counter[str] = Counter()
        for c in self.retriever.chunks:
            df.update({self.stem(w.lower()) for w in _WORD.findall(c.text)})
        self.df, self.n_docs = df, max(1, len(self.retriever.chunks))

    def _stems(self, text: str) -> set[str]:
        return {self.stem(w.lower()) for w in _WORD.findall(text)}

    def _technical(self, word: str, stem: str) -> bool:
        """A single word is a concept only if it looks like a term (TPU, FP16, all-reduce)."""
        if word.lower().endswith("ly") or len(word) < 4:
            return False
        return any(c.isupper() for c in word[1:]) or any(c.isdigit() for c in word) or "-" in word

    def references(self, q: Question, k: int = 4) -> list[Hit]:
        indexed = {c.doc_id for c in self.retriever.chunks}
        papers = {p for p in q.papers if p in indexed}
        return self.retriever.search(q.text, k, Filters(papers) if papers else None)

    def concepts(self, q: Question, refs: list[Hit]) -> list[Concept]:
        """Key phrases of the reference passages that the question does not already give away."""
        asked = self._stems(q.text)
        tf: Counter[str] = Counter()
        where: dict[str, Hit] = {}
        surface: dict[str, str] = {}
        for hit in refs:
            words = _WORD.findall(hit.matched.text)
            for n in (1, 2, 3):
                for i in range(len(words) - n + 1):
                    gram = words[i : i + n]
                    low = [w.lower() for w in gram]
                    if low[0] in STOP or low[-1] in STOP or any(len(w) < 3 for w in low):
                        continue
                    stems = tuple(self.stem(w) for w in low)
                    if n == 1 and not self._technical(gram[0], stems[0]):
                        continue
                    if 2 * len(set(stems) & asked) > len(set(stems)):  # mostly the question again
                        continue
                    key = " ".join(stems)
                    tf[key] += 1
                    where.setdefault(key, hit)
                    surface.setdefault(key, " ".join(gram))
        if not tf:
            return []
        def tfidf(key: str) -> float:
            idf = sum(math.log(self.n_docs / (1 + self.df.get(s, 0))) for s in key.split()) / len(key.split())
            return (1 + math.log(tf[key])) * max(idf, 0.0) * (1 + 0.3 * (len(key.split()) - 1))
        ranked = sorted(tf, key=tfidf, reverse=True)[:40]
        vecs = self.embedder.encode([q.text] + [surface[k] for k in ranked])
        sims = vecs[1:] @ vecs[0]
        top = max(tfidf(k) for k in ranked) or 1.0
        score = {k: 0.5 * tfidf(k) / top + 0.5 * float(s) for k, s in zip(ranked, sims, strict=True)}
        chosen: list[str] = []
        for key in sorted(ranked, key=score.get, reverse=True):
            if any(set(key.split()) & set(c.split()) for c in chosen):
                continue
            chosen.append(key)
            if len(chosen) == self.n_concepts:
                break
        return [Concept(surface[k], where[k]) for k in chosen]

    def grade(self, q: Question, answer: str) -> Grade:
        refs = self.references(q)
        model = self.answerer.answer(q.text, Filters({h.chunk.doc_id for h in refs}) if refs else None)
        concepts = self.concepts(q, refs)
        text = answer.strip()
        if not text or not refs:
            reason = "no answer given" if not text else "no reference passages for this question"
            return Grade(0.0, [], concepts, 0.0, [reason], model, refs)
        said = self._stems(text)
        sentences = [text[s:e] for s, e in sentence_spans(text, 0, len(text))] or [text]
        ref_sents = [t[a:b] for t in (h.matched.text for h in refs) for a, b in sentence_spans(t, 0, len(t))
                     if len(t[a:b].split()) >= 5] or [h.chunk.text for h in refs]
        vecs = self.embedder.encode([q.text] + ref_sents + sentences + [c.phrase for c in concepts])
        q_vec, ref_vecs = vecs[0], vecs[1 : 1 + len(ref_sents)]
        sent_vecs = vecs[1 + len(ref_sents) : 1 + len(ref_sents) + len(sentences)]
        concept_vecs = vecs[1 + len(ref_sents) + len(sentences) :]
        for c, cv in zip(concepts, concept_vecs, strict=True):
            lexical = self._stems(c.phrase) <= said
            c.covered = lexical or float(np.max(sent_vecs @ cv)) >= self.concept_threshold
        # the reference sentences that matter most for this question, and how well each is answered
        key_refs = ref_vecs[np.argsort(-(ref_vecs @ q_vec))[: self.key_sentences]]
        covered = [c for c in concepts if c.covered]
        missing = [c for c in concepts if not c.covered]
        similarity = float(np.mean(np.max(key_refs @ sent_vecs.T, axis=1)))
        # coverage of the concepts and how well the answer speaks to the key sentences (0.05-0.70
        # mapped to 0-1); measured on dev.jsonl: reference > partial > off-topic on 39 of 42
        coverage = min(1.0, len(covered) / (self.full_coverage * len(concepts))) if concepts else 0.0
        semantic = min(1.0, max(0.0, (similarity - 0.05) / 0.65))
        score = round(10 * (0.6 * coverage + 0.4 * semantic), 1)
        reasons = [f"covers {len(covered)} of {len(concepts)} key concepts of the papers",
                   f"how much of the reference passages the answer speaks to: {similarity:.2f}"]
        if len(text.split()) < 12:  # said, not scored: the concepts and similarity carry the score
            reasons.append("very short: an interviewer expects the mechanism and the why")
        grade = Grade(score, covered, missing, similarity, reasons, model, refs)
        if missing:
            grade.follow_up = (f"You did not bring up {missing[0].phrase}: what role does it play here, "
                               "and why?")
        if self.answerer.llm is not None:
            self.add_rubric(grade, q, text)
        return grade

    def add_rubric(self, grade: Grade, q: Question, answer: str) -> None:
        """The language model's rubric grade, averaged with the concept score when it gave one."""
        passages = [(n, f"{h.chunk.title}, {h.chunk.section}, p. {h.chunk.page_start}", h.chunk.text)
                    for n, h in enumerate(grade.references, 1)]
        rubric = grade_with_model(self.answerer.llm, q.text, answer, passages)
        grade.rubric, grade.notes = rubric, grade.notes + rubric.notes
        if rubric.score is not None:
            judged = [p for p in rubric.points if p.met is not None]
            grade.reasons.append(f"{self.answerer.llm.label}: meets {sum(p.met for p in judged)} of "
                                 f"{len(judged)} rubric points drawn from the papers")
            grade.score = round(0.5 * grade.score + 0.5 * rubric.score, 1)
        if rubric.follow_up:
            grade.follow_up = rubric.follow_up


# --------------------------------------------------------------------------- progress
SCHEMA = """
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY, session TEXT, question_id TEXT, question TEXT, category TEXT,
    papers TEXT, answer TEXT, score REAL, covered TEXT, missing TEXT, created TEXT);
CREATE TABLE IF NOT EXISTS cards (question_id TEXT PRIMARY KEY, card TEXT, due TEXT);
"""


def rating_for(score: float) -> Rating:
    return Rating.Again if score < 4 else Rating.Hard if score < 6.5 else Rating.Good if score < 8.5 \
        else Rating.Easy


class Progress:
    """Attempts and the review schedule, in SQLite (every write committed at once)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, check_same_thread=False)
        self.db.executescript(SCHEMA)
        self.scheduler = Scheduler()
        self.session = uuid.uuid4().hex[:12]

    def record(self, q: Question, answer: str) -> int:
        """Store what the user typed before anything else can fail."""
        cur = self.db.execute(
            "INSERT INTO attempts (session, question_id, question, category, papers, answer, created)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (self.session, q.id, q.text, q.category, json.dumps(q.papers), answer,
             datetime.now(UTC).isoformat(timespec="seconds")))
        self.db.commit()
        return int(cur.lastrowid)

    def update_answer(self, attempt: int, answer: str) -> None:
        """Keep the answer as it is being typed: a closed terminal loses nothing."""
        self.db.execute("UPDATE attempts SET answer=? WHERE id=?", (answer, attempt))
        self.db.commit()

    def graded(self, attempt: int, q: Question, answer: str, grade: Grade) -> None:
        """The final answer, its grade, and the question's next review."""
        self.db.execute("UPDATE attempts SET answer=?, score=?, covered=?, missing=? WHERE id=?",
                        (answer, grade.score, json.dumps([c.phrase for c in grade.covered]),
                         json.dumps([c.phrase for c in grade.missing]), attempt))
        row = self.db.execute("SELECT card FROM cards WHERE question_id=?", (q.id,)).fetchone()
        card = Card.from_json(row[0]) if row else Card()
        card, _ = self.scheduler.review_card(card, rating_for(grade.score))
        self.db.execute("INSERT OR REPLACE INTO cards VALUES (?, ?, ?)",
                        (q.id, card.to_json(), card.due.isoformat()))
        self.db.commit()

    def mastery(self) -> dict[str, dict[str, tuple[float, int]]]:
        """Mean of the latest score of each question, per category and per paper (0-1, count)."""
        rows = self.db.execute(
            "SELECT question_id, category, papers, score FROM attempts WHERE score IS NOT NULL ORDER BY id"
        ).fetchall()
        latest = {qid: (cat, json.loads(papers), score) for qid, cat, papers, score in rows}
        out: dict[str, dict[str, list[float]]] = {"category": {}, "paper": {}}
        for cat, papers, score in latest.values():
            out["category"].setdefault(cat or "?", []).append(score / 10)
            for p in papers:
                out["paper"].setdefault(p, []).append(score / 10)
        return {kind: {k: (sum(v) / len(v), len(v)) for k, v in groups.items()}
                for kind, groups in out.items()}

    def latest_scores(self) -> dict[str, float]:
        """The latest graded score (0-10) of each question id answered at least once."""
        rows = self.db.execute("SELECT question_id, score FROM attempts WHERE score IS NOT NULL ORDER BY id")
        return dict(rows.fetchall())

    def next_question(self, questions: list[Question], asked: set[str]) -> Question | None:
        """Due reviews first, then unseen questions of the weakest category, then the least known."""
        pool = [q for q in questions if q.id not in asked]
        if not pool:
            return None
        now = datetime.now(UTC).isoformat()
        cards = dict(self.db.execute("SELECT question_id, due FROM cards").fetchall())
        due = sorted((cards[q.id], i) for i, q in enumerate(pool) if q.id in cards and cards[q.id] <= now)
        if due:
            return pool[due[0][1]]
        unseen = [q for q in pool if q.id not in cards]
        if unseen:
            weak = self.mastery()["category"]
            return min(unseen, key=lambda q: (weak.get(q.category, (0.5, 0))[0], q.source != "bank",
                                              q.difficulty))
        return min(pool, key=lambda q: cards.get(q.id, ""))

    def export_markdown(self, session: str | None = None) -> str:
        where, args = ("WHERE session=?", (session,)) if session else ("", ())
        rows = self.db.execute(
            f"SELECT created, question, answer, score, missing FROM attempts {where} ORDER BY id", args
        ).fetchall()
        lines = ["# paperdojo interview" + (f" session {session}" if session else ""), ""]
        for created, question, answer, score, missing in rows:
            shown = "not graded" if score is None else f"{score:g}/10"
            lines += [f"## {question}", f"*{created} · score {shown}*", "", answer or "_(no answer)_", ""]
            if missing and json.loads(missing):
                lines += ["Missed: " + ", ".join(json.loads(missing)), ""]
        return "\n".join(lines)


def all_questions(settings_questions: Path, answerer: Answerer, generated: bool = True) -> list[Question]:
    """Our bank, then (optionally) questions made from the indexed papers' sections."""
    bank = load_bank(settings_questions)
    if not generated:
        return bank
    r = answerer.retriever
    return bank + generated_questions(r.index.manifest.get("docs", {}), r.chunks)


def pick(questions: list[Question], categories: set[str], papers: set[str], difficulty: int | None
         ) -> list[Question]:
    lowered = {c.lower() for c in categories}
    return [q for q in questions
            if (not lowered or q.category.lower() in lowered)
            and (not papers or papers & set(q.papers))
            and (difficulty is None or q.difficulty == difficulty)]
