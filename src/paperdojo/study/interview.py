"""Mock interviews: questions with provenance, grading against the papers, progress over time.

Without a language model an answer is graded against the key concepts of the reference passages
(phrases chosen by corpus term statistics and by the embedding model's similarity to the
question), plus its semantic similarity to those passages. The grade says what was covered, what
was missed (each missed concept with the passage that explains it) and gives a model answer with
citations. Attempts are stored the moment they are typed (before grading), per user, and drive a
spaced-repetition schedule (FSRS) that leans on weak topics: see study.progress.
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from paperdojo.answering.answer import Answer, Answerer
from paperdojo.answering.retrieve import Filters, Hit
from paperdojo.library.chunk import sentence_spans
from paperdojo.records import Chunk
from paperdojo.study.concepts import WORD, Lexicon, candidates, is_prose, rank_concepts, term_words
from paperdojo.study.grading import (
    Opposites,
    checked_against,
    claim_weight,
    contradictions,
    numbers,
    says_dont_know,
    stated_numbers,
)
from paperdojo.study.rubric import Rubric, grade_with_model

GENERIC_SECTIONS = {
    "introduction", "evaluation", "conclusion", "conclusions", "related work", "experiments",
    "results", "implementation", "background", "acknowledgments", "acknowledgements",
    "acknowledgment", "acknowledgement", "discussion", "setup", "experimental setup", "summary",
    "motivation", "overview", "abstract", "front matter", "future work", "limitations", "appendix",
    "references", "methodology", "method", "design", "case studies", "notation",
}
# the words of a paper's structure rather than of its content: a heading made only of these ("Background
# and Motivation", "Challenges and Proposed Solutions", "End-to-End Performance", "Ablation Studies")
# makes no question worth asking (on the 27 shared papers they are 35 of 468 headings, all generic)
GENERIC_HEADING_WORDS = frozenset(" ".join(GENERIC_SECTIONS).split()) | frozenset(str.split("""
and the of our a an for in on with to vs versus its their this it all putting together
challenge challenges proposed solution solutions analysis problem problems statement formulation approach
approaches key idea ideas insight insights observation observations lesson lessons learned preliminaries
preliminary goal goals contribution contributions result evaluation evaluations methodology main general
detailed study studies performance end-to-end experimental experiment experiments comparison comparisons
tradeoff tradeoffs trade-off trade-offs details detail microbenchmark microbenchmarks ablation ablations
other additional more further related prior previous existing work works limitation discussions
opportunities opportunity scope assumptions assumption threats validity use uses case cases application
applications example examples illustrative
"""))


def generic_heading(name: str) -> bool:
    """Does a section's name (without its number) speak of the paper's structure only, every word of
    it in GENERIC_HEADING_WORDS ("Background and Motivation", "Ablation Studies")?"""
    words = re.findall(r"[a-z0-9][a-z0-9-]*", name.lower())
    return all(w in GENERIC_HEADING_WORDS for w in words)


@dataclass
class Question:
    """An interview question: its id, text, the papers it is about, category, difficulty (1-3)
    and whether it comes from our bank or was generated from a section."""
    id: str
    text: str
    papers: list[str]
    category: str
    difficulty: int = 2  # 1 warm-up, 2 core, 3 deep
    source: str = "bank"  # bank (ours) | generated (from a section)


@dataclass
class Concept:
    """A key concept of the reference passages: its phrase, the passage that explains it, and
    whether (and by which words of the answer) it was covered."""
    phrase: str
    hit: Hit  # the reference passage that explains it (its page is the citation)
    covered: bool = False
    sentence: str = ""  # the paper's sentence that states it
    earned_by: str = ""  # the words of the answer that earned the credit


@dataclass
class Grade:
    """The grade of one answer: `score` 0-10, the concepts covered and missing, the answer's cosine
    `similarity` to the references, the reasons shown, a cited model answer, the reference passages,
    the rubric and follow-up a language model gave, notes, contradicting sentences and the parts the
    score is made of (each 0-1)."""
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
    contradictions: list[str] = field(default_factory=list)  # the answer's sentences that contradict
    parts: dict[str, float] = field(default_factory=dict)  # claim coverage, concept share (0-1)


# --------------------------------------------------------------------------- questions
def load_bank(path: Path) -> list[Question]:
    """The questions of a TOML bank ([[question]] tables with text, papers, category, and
    optional id and difficulty); [] when the file does not exist. Raises ValueError naming a question
    that lacks a required field."""
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


def generated_questions(manifest_docs: dict, chunks: Iterable[Chunk]) -> list[Question]:
    """One question per specific section of each indexed paper ("explain 3.2 Intra-op pass"); none for
    a section whose name speaks only of the paper's structure (`generic_heading`)."""
    seen, out = set(), []
    for c in chunks:
        key = (c.doc_id, c.section)
        if key in seen:
            continue
        seen.add(key)
        m = re.match(r"^((?:\d+|[IVX]+|[A-H])(?:\.\d+)*)\.?\s+(.*)$", c.section)
        number, name = (m.group(1), m.group(2)) if m else ("", c.section)
        if generic_heading(name) or len(name) < 4 or number[:1].isalpha() \
                and number[:1] not in "IVX":
            continue
        doc = manifest_docs.get(c.doc_id, {})
        short = (doc.get("title") or c.title).split(":")[0].strip()
        depth = number.count(".") + 1 if number else 1
        out.append(Question(f"gen:{c.doc_id}:{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}",
                            f"In {short}, what is \"{name}\" about, and why does it matter?",
                            [c.doc_id], doc.get("category", ""), min(3, depth), "generated"))
    return out


def starter_questions(bank: list[Question], indexed: dict[str, str], n: int = 5) -> list[str]:
    """Up to `n` example questions about papers the library has indexed, one paper each in the
    order of `indexed` ({paper id: title}): the paper's easiest bank question that names it first,
    else "What problem does <short title> solve, and how?". Examples never name a paper that is not
    indexed (they used to be fixed and asked about papers a user's library lacked)."""
    out: list[str] = []
    for doc_id, title in indexed.items():
        own = sorted((q for q in bank if q.papers[:1] == [doc_id]), key=lambda q: q.difficulty)
        if own:
            out.append(own[0].text)
        else:
            short = re.split(r":\s", title or doc_id)[0].strip()  # "TVM: An ..." (not "http://...")
            name = short if len(short.split()) <= 4 else f"\u201c{short}\u201d"
            out.append(f"What problem does {name} solve, and how?")
        if len(out) == n:
            break
    return out


# --------------------------------------------------------------------------- grading
@dataclass
class Evidence:
    """What an answer to one question is graded against, prepared once per question.

    `refs` are the passages shown to the user (the top 4 of the question's papers); `sentences` are
    the prose sentences (concepts.is_prose) of the top `evidence_k` passages, with the hit each
    comes from; `key` indexes the sentences most relevant to the question, `weights` their weights.
    """

    refs: list[Hit]
    sentences: list[str]
    hits: list[Hit]
    vecs: np.ndarray  # (len(sentences), dim), L2-normalized
    key: np.ndarray  # indices into sentences
    weights: np.ndarray  # same length as key, sums to 1
    numbers: set[str]
    concepts: list[Concept]
    concept_vecs: np.ndarray
    # the unit direction of the question's papers (their passages' mean vector), and the key
    # sentences' vectors with that direction taken out (`beyond_topic`); (dim,), (len(key), dim)
    topic: np.ndarray | None = None
    key_beyond: np.ndarray | None = None


def beyond_topic(vecs: np.ndarray, topic: np.ndarray | None) -> np.ndarray:
    """`vecs` (n, dim) with their component along the unit vector `topic` removed and re-normalised:
    what a sentence says beyond being about the papers `topic` stands for. Unchanged without a topic."""
    if topic is None or not len(vecs):
        return vecs
    rest = vecs - np.outer(vecs @ topic, topic)
    return rest / np.maximum(np.linalg.norm(rest, axis=1, keepdims=True), 1e-9)


class Grader:
    """Grades an answer by the claims it makes about the papers' key sentences and concepts.

    Score (0-10) = 10 * (0.8 * claim coverage + 0.2 * concept coverage), each divided by what a
    reference-quality answer reaches, minus 2 points per sentence that contradicts the papers
    (grading.contradictions) among the reference sentences within `same_claim` cosine that use at
    least `same_terms` of its content words (grading.checked_against). Claim coverage: the key
    reference sentences (the 8 most relevant to the question) matched greedily to the answer's
    sentences, each answer sentence earning at most one key sentence per 8 words; a match earns its
    closeness mapped linearly from `sim_floor` (0) to `sim_full` (1), times the sentence's
    claim_weight (a list of terms earns ~0), and nothing when the sentence contradicts the papers.
    Concept coverage: the share of the key concepts said inside a claim (same normalised stems, or
    a clause of the answer within `concept_threshold` cosine).
    The closeness of a claim and a key sentence is their cosine, blended (`topic_mix`) with their
    cosine once both lose their component along the question's papers' mean passage vector
    (`beyond_topic`): a claim about another part of the same paper shares that component with every
    key sentence (cosine 0.5-0.65 to all of them), not what the key sentences say beyond it.
    Calibration (docs/measurements.md): the reference answers of dev.jsonl and dev2.jsonl score a
    median of 8.0; the constants were chosen on the dev.jsonl half of graded_answers.jsonl.
    """

    def __init__(self, answerer: Answerer, n_concepts: int = 12) -> None:
        self.answerer = answerer
        self.retriever = answerer.retriever
        self.embedder = self.retriever.embedder
        self.stem = self.retriever.stemmer.stemWord
        self.n_concepts = n_concepts
        self.concept_threshold = 0.65  # a clause of the answer this close to a concept says it
        self.key_sentences = 8  # reference sentences most relevant to the question
        self.evidence_k = 8  # passages whose sentences a claim is checked against
        self.sim_floor = 0.20  # closeness of a claim and a key sentence that earns nothing
        self.sim_full = 0.58  # closeness that earns the key sentence in full
        # share of the closeness measured beyond the papers' common topic (beyond_topic); 0.3, 0.20
        # and 0.58 chosen on graded_answers.jsonl and the two held-out graded files (h14grade)
        self.topic_mix = 0.3
        self.full_coverage = 0.60  # claim coverage of a reference-quality answer
        self.full_concepts = 0.35  # share of concepts a reference-quality answer says
        self.concept_weight = 0.2  # of the score; the rest is claim coverage
        self.contradiction_cost = 2.0  # points per contradicted claim
        self.same_claim = 0.55  # cosine above which a reference sentence is checked for contradiction
        # share of the claim's content stems a reference sentence must use to be checked against it
        # (grading.checked_against); 0.2 chosen on the dev half of graded_answers.jsonl
        self.same_terms = 0.2
        self.words_per_idea = 8  # a sentence of the answer earns at most one key sentence per 8 words
        self.opposites = Opposites.build(self.stem)
        self._evidence: dict[tuple[str, tuple[str, ...]], Evidence] = {}
        df: Counter[str] = Counter()
        for c in self.retriever.chunks:
            df.update({self.stem(w.lower()) for w in WORD.findall(c.text)})
        self.df, self.n_docs = df, max(1, len(self.retriever.chunks))
        # which words are terms of the library, and which it uses as verbs (concepts.Lexicon)
        self.lexicon = Lexicon.build(c.text for c in self.retriever.chunks)

    def _stems(self, text: str) -> set[str]:
        return {self.stem(w) for w in term_words(text)}

    def references(self, q: Question, k: int = 4) -> list[Hit]:
        """The `k` passages that best answer `q`, from its papers when the index holds any."""
        indexed = set(self.retriever.index.doc_ids)
        papers = {p for p in q.papers if p in indexed}
        return self.retriever.search(q.text, k, Filters(papers) if papers else None)

    def evidence(self, q: Question) -> Evidence:
        """The reference passages, their prose sentences and concepts for `q` (cached per question)."""
        cache_key = (q.text, tuple(q.papers))
        if cache_key in self._evidence:
            return self._evidence[cache_key]
        hits = self.references(q, self.evidence_k)
        refs = hits[:4]
        sentences, where = [], []
        papers = {h.chunk.doc_id for h in hits}
        numbers_seen = stated_numbers(" ".join(c.text for c in self.retriever.chunks.of_docs(papers)))
        seen: set[str] = set()
        for hit in hits:
            text = hit.chunk.text
            for a, b in sentence_spans(text, 0, len(text)):
                sentence = " ".join(text[a:b].split())
                if sentence not in seen and is_prose(sentence, hit.chunk.section):
                    seen.add(sentence)
                    sentences.append(sentence)
                    where.append(hit)
        dim = self.embedder.dim
        vecs = self.embedder.encode([q.text] + sentences) if sentences else self.embedder.encode([q.text])
        q_vec, vecs = vecs[0], vecs[1:].reshape(-1, dim)
        relevance = vecs @ q_vec if len(sentences) else np.zeros(0)
        # key sentences: the most relevant to the question among the passages shown (refs)
        shown = {id(h) for h in refs}
        pool = [i for i, h in enumerate(where) if id(h) in shown] or list(range(len(sentences)))
        key = np.array(sorted(pool, key=lambda i: -relevance[i])[: self.key_sentences], dtype=int)
        weights = np.clip(relevance[key] - 0.1, 0.05, None) if len(key) else np.zeros(0)
        weights = weights / weights.sum() if len(key) else weights
        concepts = self._concepts(q, [sentences[i] for i in pool], [where[i] for i in pool])
        concept_vecs = self.embedder.encode([c.phrase for c in concepts]) if concepts else \
            np.zeros((0, dim), dtype=np.float32)
        topic = self._topic(papers)
        ev = Evidence(refs, sentences, where, vecs, key, weights, numbers_seen, concepts, concept_vecs,
                      topic, beyond_topic(vecs[key], topic) if len(key) else None)
        if len(self._evidence) > 256:
            self._evidence.clear()
        self._evidence[cache_key] = ev
        return ev

    def _topic(self, papers: set[str]) -> np.ndarray | None:
        """The unit mean of the stored passage vectors of `papers` (None when none is indexed)."""
        rows_of = getattr(self.retriever.chunks, "rows_of_docs", None)
        rows = rows_of(papers) if rows_of is not None else []
        if not rows:
            return None
        mean = np.asarray(self.retriever.vectors[np.array(rows)], dtype=np.float32).mean(axis=0)
        norm = float(np.linalg.norm(mean))
        return mean / norm if norm > 0 else None

    def _concepts(self, q: Question, sentences: list[str], hits: list[Hit]) -> list[Concept]:
        """Key phrases of the prose sentences that the question does not already give away."""
        cands = candidates(sentences, self.stem, self._stems(q.text), self.lexicon)
        if not cands:
            return []
        q_vec = self.embedder.encode([q.text])[0]

        def relevance(phrases: list[str]) -> list[float]:
            return [float(s) for s in self.embedder.encode(phrases) @ q_vec]

        chosen = rank_concepts(cands, self.df, self.n_docs, relevance, self.n_concepts)
        return [Concept(c.phrase, hits[c.sentence], sentence=sentences[c.sentence]) for c in chosen]

    def concepts(self, q: Question, refs: list[Hit] | None = None) -> list[Concept]:
        """The key concepts of `q` (fresh copies: grading marks them covered or not)."""
        return [Concept(c.phrase, c.hit, sentence=c.sentence) for c in self.evidence(q).concepts]

    def grade(self, q: Question, answer: str, with_model_answer: bool = True) -> Grade:
        """Grade `answer` (0-10) with what earned each credit; see the class docstring.

        `with_model_answer=False` skips the extractive model answer (measurement runs)."""
        ev = self.evidence(q)
        concepts = self.concepts(q)
        papers = Filters({h.chunk.doc_id for h in ev.refs}) if ev.refs else None
        model = self.answerer.answer(q.text, papers) if with_model_answer else Answer(q.text, q.text, "", [])
        text = answer.strip()
        if not text or not ev.refs or not ev.sentences:
            reason = "no answer given" if not text else "no reference passages for this question"
            return Grade(0.0, [], concepts, 0.0, [reason], model, ev.refs)
        if says_dont_know(text):
            return Grade(0.0, [], concepts, 0.0, ["you said you do not know: study the model answer below"],
                         model, ev.refs)
        sentences = [" ".join(text[a:b].split()) for a, b in sentence_spans(text, 0, len(text))] or [text]
        clauses = [(i, c.strip()) for i, s in enumerate(sentences) for c in re.split(r"[,;:()]", s)
                   if len(WORD.findall(c)) >= 2]
        vecs = self.embedder.encode(sentences + [c for _, c in clauses])
        sent_vecs, clause_vecs = vecs[: len(sentences)], vecs[len(sentences) :]
        sims = sent_vecs @ ev.vecs.T  # (answer sentences, reference sentences)
        claims = np.array([claim_weight(s) for s in sentences])
        # a number the question itself gives ("256 vs 257 tokens") is no number foreign to the papers
        found_in = self.contradicted(sentences, sims, claims, ev, ev.numbers | numbers(q.text))
        contradicted = [(sentences[i], found) for i, found in found_in.items()]
        ok = np.array([0.0 if i in found_in else 1.0 for i in range(len(sentences))])
        close = sims[:, ev.key]
        if ev.key_beyond is not None and len(ev.key):
            beyond = beyond_topic(sent_vecs, ev.topic) @ ev.key_beyond.T
            close = (1 - self.topic_mix) * close + self.topic_mix * beyond
        credit = np.clip((close - self.sim_floor) / (self.sim_full - self.sim_floor), 0, 1)
        credit = credit * (claims * ok)[:, None]
        coverage = float(assign(credit, capacity(sentences, self.words_per_idea)) @ ev.weights) \
            if len(ev.key) else 0.0
        said = [self._stems(s) if claims[i] >= 0.5 and ok[i] else set() for i, s in enumerate(sentences)]
        for c, cv in zip(concepts, ev.concept_vecs, strict=True):
            stems = self._stems(c.phrase)
            lexical = next((i for i, st in enumerate(said) if stems <= st), None)
            if lexical is not None:
                c.covered, c.earned_by = True, _words_of(sentences[lexical], c.phrase)
                continue
            good = [(float(cv @ clause_vecs[n]), n) for n, (i, _) in enumerate(clauses)
                    if claims[i] >= 0.5 and ok[i]]
            best = max(good, default=(0.0, -1))
            if best[0] >= self.concept_threshold:
                c.covered, c.earned_by = True, clauses[best[1]][1]
        covered = [c for c in concepts if c.covered]
        missing = [c for c in concepts if not c.covered]
        concept_share = len(covered) / len(concepts) if concepts else coverage
        claim_part = min(1.0, coverage / self.full_coverage)
        concept_part = min(1.0, concept_share / self.full_concepts)
        penalty = self.contradiction_cost * len(contradicted)
        mixed = (1 - self.concept_weight) * claim_part + self.concept_weight * concept_part
        score = round(max(0.0, min(10.0, 10 * mixed - penalty)), 1)
        similarity = float(np.mean(sims.max(axis=0)[ev.key])) if len(ev.key) else 0.0
        reasons = [f"your claims cover {100 * coverage / self.full_coverage:.0f}% of what a complete answer "
                   "says about the key sentences of the papers" if coverage < self.full_coverage else
                   "your claims cover the key sentences of the papers",
                   f"says {len(covered)} of {len(concepts)} key concepts in sentences that make a claim"]
        if claims.mean() < 0.5:
            reasons.append("mostly a list of terms: say what each does and why, in sentences")
        for s, found in contradicted:
            reasons.append(f'contradicts the papers ({"; ".join(found)}): "{_short(s)}"')
        if len(WORD.findall(text)) < 12:
            reasons.append("very short: an interviewer expects the mechanism and the why")
        grade = Grade(score, covered, missing, similarity, reasons, model, ev.refs)
        grade.contradictions = [s for s, _ in contradicted]
        grade.parts = {"claims": round(coverage, 3), "concepts": round(concept_share, 3),
                       "claim_share": round(float(claims.mean()), 3), "concept_score": score}
        if missing:
            grade.follow_up = (f"You did not bring up {missing[0].phrase}: what role does it play here, "
                               "and why?")
        if self.answerer.llm is not None:
            self.add_rubric(grade, q, text)
        return grade

    def contradicted(self, sentences: list[str], sims: np.ndarray, claims: np.ndarray,
                     ev: Evidence, known_numbers: set[str] | None = None) -> dict[int, list[str]]:
        """The answer's sentences that contradict the papers: index -> reasons (grading.contradictions).

        `sims` is (len(sentences), len(ev.sentences)) cosines; a claim (claims[i] > 0) is checked
        against those of its 3 nearest reference sentences that grading.checked_against keeps.
        `known_numbers` (default: the numbers of the question's papers, `ev.numbers`) are the numbers
        an answer may state."""
        known = ev.numbers if known_numbers is None else known_numbers
        out: dict[int, list[str]] = {}
        for i, s in enumerate(sentences):
            top = [(ev.sentences[j], float(sims[i, j])) for j in np.argsort(-sims[i])[:3]]
            near = checked_against(s, top, self.stem, self.same_claim, self.same_terms)
            if claims[i] == 0 or not near:
                continue  # no reference sentence says nearly the same: nothing to contradict
            found = contradictions(s, near, known, self.stem, self.opposites)
            if found:
                out[i] = found
        return out

    def add_rubric(self, grade: Grade, q: Question, answer: str) -> None:
        """The language model's rubric grade, averaged with the concept score when it gave one.

        The contract holds with a model too: an answer that is mostly a list of terms is never raised
        above its concept grade (a model asked "does it make this point?" tends to say yes to the
        term), and contradicted claims keep their cost. A model failure leaves the concept grade,
        with a note."""
        passages = [(n, f"{h.chunk.title}, {h.chunk.section}, p. {h.chunk.page_start}", h.chunk.text)
                    for n, h in enumerate(grade.references, 1)]
        llm = self.answerer.llm
        if llm is None:
            raise ValueError("a rubric grade needs a language model")
        rubric = grade_with_model(llm, q.text, answer, passages)
        grade.rubric, grade.notes = rubric, grade.notes + rubric.notes
        if rubric.score is not None:
            judged = [p for p in rubric.points if p.met is not None]
            grade.reasons.append(f"{llm.label}: meets {sum(bool(p.met) for p in judged)} of "
                                 f"{len(judged)} rubric points drawn from the papers")
            blended = 0.5 * grade.score + 0.5 * rubric.score
            if grade.parts.get("claim_share", 1.0) < 0.5:
                blended = min(blended, grade.score)
                grade.notes.append("mostly a list of terms: the model's rubric cannot raise the grade")
            blended -= 0.5 * self.contradiction_cost * len(grade.contradictions)  # keep the full cost
            grade.score = round(max(0.0, min(10.0, blended)), 1)
        if rubric.follow_up:
            grade.follow_up = rubric.follow_up


def capacity(sentences: list[str], words_per_idea: int) -> np.ndarray:
    """How many key sentences each answer sentence may earn: one per `words_per_idea` words, >= 1."""
    return np.array([max(1, round(len(s.split()) / words_per_idea)) for s in sentences])


def assign(credit: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Greedy matching of answer sentences (rows) to key sentences (columns), best credit first,
    each key sentence earned once and each answer sentence at most `cap` times; the credit each key
    sentence gets (columns,)."""
    got = np.zeros(credit.shape[1])
    left = cap.astype(int).copy()
    for flat in np.argsort(-credit, axis=None):
        i, j = divmod(int(flat), credit.shape[1])
        if credit[i, j] <= 0:
            break
        if left[i] > 0 and got[j] == 0:
            got[j], left[i] = credit[i, j], left[i] - 1
    return got


def _short(sentence: str, n: int = 14) -> str:
    words = sentence.split()
    return " ".join(words[:n]) + (" ..." if len(words) > n else "")


def _words_of(sentence: str, phrase: str) -> str:
    """The words of `sentence` that match `phrase` after normalisation, else the sentence (short)."""
    want = term_words(phrase)
    words = sentence.split()
    norm = [" ".join(term_words(w)) for w in words]
    for i in range(len(words)):
        for j in range(i + 1, min(len(words), i + 2 * len(want) + 1) + 1):
            if " ".join(n for n in norm[i:j] if n).split() == want:
                return " ".join(words[i:j]).strip(",.;:()")
    return _short(sentence)


def library_categories(manifest: dict) -> dict[str, str]:
    """{paper id: category} of the papers an index manifest holds as indexed (the library's categories)."""
    docs = manifest.get("docs", {})
    return {d: m.get("category") or "" for d, m in docs.items() if m.get("status") == "indexed"}


def all_questions(settings_questions: Path, answerer: Answerer, generated: bool = True) -> list[Question]:
    """Our bank, then (optionally) questions made from the indexed papers' sections.

    Only questions about indexed papers, each in the library's category of its first indexed paper
    (so a paper moved to another category takes its questions along)."""
    library = library_categories(answerer.retriever.index.manifest)
    questions = load_bank(settings_questions)
    if generated:
        r = answerer.retriever
        questions += generated_questions(r.index.manifest.get("docs", {}), r.chunks)
    out = []
    for q in questions:
        indexed = [p for p in q.papers if p in library]
        if indexed:
            q.category = library[indexed[0]] or q.category
            out.append(q)
    return out


def categories(questions: list[Question]) -> list[str]:
    """The categories questions can be drawn from, by name."""
    return sorted({q.category for q in questions if q.category}, key=str.lower)


def pick(questions: list[Question], categories: set[str], papers: set[str], difficulty: int | None
         ) -> list[Question]:
    """The questions in `categories` (ignoring case), about one of `papers`, of `difficulty`; an empty
    set or None means any."""
    lowered = {c.lower() for c in categories}
    return [q for q in questions
            if (not lowered or q.category.lower() in lowered)
            and (not papers or papers & set(q.papers))
            and (difficulty is None or q.difficulty == difficulty)]
