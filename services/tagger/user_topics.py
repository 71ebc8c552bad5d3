"""User-defined topics for media monitoring: boolean keyword rules from a YAML file.

Why a rule language and not a model: monitoring clients define what they follow ("Arctic
security", a brand, a person) and must be able to read, audit and change it themselves,
with the matched terms as evidence. The rules file (see `ops/user_topics.example.yaml` and
docs/tagging.md) holds one entry per topic:

    topics:
      - id: arctic-security
        label: Arctic security
        query: (arctic OR "high north") AND (security OR defen?e OR nato*)
        queries:                      # optional per-language variants (ISO 639-1)
          de: (arktis* OR "hoher norden") AND (sicherheit* OR verteidigung* OR nato)
        languages: [en, de]           # optional: only articles in these languages

Query language (operators are upper case; lower-case `and`/`or`/`not` are plain words):

* `word` matches the word case-insensitively; `"a phrase"` matches consecutive words;
* `*` matches any run of letters/digits inside one word, `?` exactly one (`nato*`,
  `defen?e`); a term needs two literal characters before its first wildcard;
* `case:NATO` / `case:"Baltic Sentry"`: case-sensitive term;
* `a AND b`, `a b` (implicit AND), `a OR b`, `NOT a`, parentheses; precedence NOT > AND > OR;
* `a NEAR/n b`: a and b with at most n other words between them, in either order; its
  operands are terms or parenthesised OR-lists of terms;
* punctuation is ignored like a space (`U.S.` is the phrase "u s", `F-35` is "f 35");
  Chinese/Japanese/Korean terms match inside words (those scripts have no word spaces).

A rule that could match an article containing none of its terms (e.g. `NOT sport`) is
refused, which is what makes the prefilter exact: every term of every rule goes into one
Aho-Corasick automaton (per case mode) keyed by " " + the term's first word (up to any
wildcard), the article is scanned once (with punctuation turned into spaces, so every word
follows a space), each hit is checked (word boundary, or a regex for phrases and wildcards
with `\\W+` between words), and only rules with at least one term found are evaluated. Cost
per article: one scan plus work proportional to the hits, whatever the number of rules.

The file is re-read when its mtime/size/inode change (checked at most every
`check_interval` seconds, from the tagger's calls): a file that fails to parse keeps the
previous rules; a rule with an error is skipped and reported in the log and in `errors`.
`python -m services.tagger.user_topics FILE` validates a file and prints the errors.
"""

from __future__ import annotations

import bisect
import logging
import os
import re
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ahocorasick
import yaml

log = logging.getLogger(__name__)

MAX_CHARS = 100_000  # of title + text scanned per article: bounds the cost of giant pages
_WORD = re.compile(r"\w+")
# Characters replaced by spaces before matching, so that every word follows a space.
_SPACED = (
    "\n\t\r\f\v\u00a0\u2007\u2009\u200a\u200b\u202f\u3000"  # whitespace str.split would also see
    "!\"#$%&'()*+,-./:;<=>?@[\\]^`{|}~"  # ASCII punctuation but "_" (a word character for \\w)
    "¡¿«»‹›„“”‘’‚—–‐‑…•·§¶°′″€£¥©®™"
    "、。，：；！？「」『』（）《》【】〈〉・"
    "،؛؟।"
)
_TERM_PARTS = re.compile(r"[\w*?]+")
_CJK = re.compile(r"[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_LEXER = re.compile(
    r"""\s*(?:
      (?P<lp>\() | (?P<rp>\))
    | (?P<near>NEAR/(?P<n>\d+))(?=[\s()"“”]|$)
    | (?P<op>AND|OR|NOT)(?=[\s()"“”]|$)
    | (?P<case>case:)?(?:["“”](?P<phrase>[^"“”]*)["“”] | (?P<word>[^\s()"“”]+))
    )""",
    re.VERBOSE,
)
_RULE_KEYS = frozenset({"id", "label", "query", "queries", "languages", "description"})


def _term_cost(term: Term) -> float:
    """How likely a term is to occur, roughly: short words often, phrases and long words rarely."""
    return 1.0 / (len(term.pattern.replace("*", "").replace("?", "")) + 6 * (term.words - 1))


class RuleError(ValueError):
    """A rule that cannot be compiled; the message says where and why."""


# ---------------------------------------------------------------------------- terms


@dataclass(frozen=True)
class Term:
    """One searchable term, split into words the way article text is (see `RuleSet.match`)."""

    display: str  # as the rule wrote it (without quotes / case: prefix): reported in matched_terms
    pattern: str  # normalised words joined by single spaces; may hold * and ?
    case_sensitive: bool
    words: int  # number of words the term spans
    key: str  # automaton key: the first word up to any wildcard (with a leading space unless CJK)
    regex: re.Pattern[str] | None  # full check at the hit position, for phrases and wildcards
    open_right: bool  # CJK last character: no word boundary needed after the term


def _make_term(text: str, case_sensitive: bool) -> Term:
    parts = _TERM_PARTS.findall(text)
    if not parts:
        raise RuleError(f"term {text!r} has no letters or digits")
    if not case_sensitive:
        parts = [p.lower() for p in parts]
    pattern = " ".join(parts)
    wild = min((i for i in (pattern.find("*"), pattern.find("?")) if i >= 0), default=-1)
    if len((pattern if wild < 0 else pattern[:wild]).replace(" ", "")) < 2:
        raise RuleError(f"term {text!r} needs at least two letters before its first wildcard")
    first = parts[0]
    cut = min((i for i in (first.find("*"), first.find("?")) if i >= 0), default=len(first))
    open_left = bool(_CJK.match(first))
    open_right = bool(_CJK.match(pattern[-1]))
    key = first[:cut] if open_left else " " + first[:cut]
    if cut == len(first) and not _CJK.match(first[-1]):
        key += " "  # whole first word: the text has a space after every word (see RuleSet.match)
    regex = None
    if len(parts) > 1 or wild >= 0:
        words = [
            "".join(r"\w*" if c == "*" else r"\w" if c == "?" else re.escape(c) for c in part) for part in parts
        ]
        regex = re.compile(("" if open_left else " ") + r"\W+".join(words) + ("" if open_right else r"(?!\w)"))
    return Term(text.strip(), pattern, case_sensitive, len(parts), key, regex, open_right)


# ---------------------------------------------------------------------------- expressions


class Node:
    """A compiled query expression."""

    def eval(self, hits: _Hits) -> bool:
        raise NotImplementedError

    def anchors(self, cost: Sequence[float]) -> tuple[float, frozenset[int]] | None:
        """A cheap set of terms one of which must occur for the expression to be true (None: no
        such set, e.g. under NOT), with its cost (sum of `cost` per term: rarer terms cost less).

        Rules are indexed by their anchors only, so a rule like `(common OR words) AND "rare
        phrase"` is evaluated only for articles with the phrase."""
        raise NotImplementedError

    def evidence(self, hits: _Hits) -> Iterable[int]:
        """Term ids that make this (true) expression true: found terms of true branches, none under NOT."""
        raise NotImplementedError


@dataclass
class TermNode(Node):
    tid: int

    def eval(self, hits: _Hits) -> bool:
        return self.tid in hits.found

    def anchors(self, cost: Sequence[float]) -> tuple[float, frozenset[int]] | None:
        return cost[self.tid], frozenset((self.tid,))

    def evidence(self, hits: _Hits) -> Iterable[int]:
        if self.tid in hits.found:
            yield self.tid


@dataclass
class AndNode(Node):
    children: list[Node]

    def eval(self, hits: _Hits) -> bool:
        return all(c.eval(hits) for c in self.children)

    def anchors(self, cost: Sequence[float]) -> tuple[float, frozenset[int]] | None:
        options = [a for a in (c.anchors(cost) for c in self.children) if a is not None]
        return min(options, key=lambda a: a[0]) if options else None

    def evidence(self, hits: _Hits) -> Iterable[int]:
        for c in self.children:
            if c.eval(hits):
                yield from c.evidence(hits)


@dataclass
class OrNode(AndNode):
    def eval(self, hits: _Hits) -> bool:
        return any(c.eval(hits) for c in self.children)

    def anchors(self, cost: Sequence[float]) -> tuple[float, frozenset[int]] | None:
        parts = [c.anchors(cost) for c in self.children]
        if any(a is None for a in parts):
            return None
        return sum(a[0] for a in parts if a), frozenset().union(*(a[1] for a in parts if a))


@dataclass
class NotNode(Node):
    child: Node

    def eval(self, hits: _Hits) -> bool:
        return not self.child.eval(hits)

    def anchors(self, cost: Sequence[float]) -> tuple[float, frozenset[int]] | None:
        return None

    def evidence(self, hits: _Hits) -> Iterable[int]:
        return ()


@dataclass
class NearNode(Node):
    left: list[int]  # term ids (an OR-list)
    right: list[int]
    n: int

    def eval(self, hits: _Hits) -> bool:
        return bool(self._pairs(hits, first_only=True))

    def _pairs(self, hits: _Hits, first_only: bool = False) -> list[tuple[int, int]]:
        """(left term, right term) pairs with occurrences at most n words apart."""
        found = hits.found
        left = [t for t in self.left if t in found]
        right = [t for t in self.right if t in found] if left else []
        pairs = []
        for lt in left:
            for rt in right:
                if any(max(bs - ae, as_ - be) - 1 <= self.n for as_, ae in hits.spans(lt) for bs, be in hits.spans(rt)):
                    pairs.append((lt, rt))
                    if first_only:
                        return pairs
        return pairs

    def anchors(self, cost: Sequence[float]) -> tuple[float, frozenset[int]] | None:
        return min(((sum(cost[t] for t in side), frozenset(side)) for side in (self.left, self.right)),
                   key=lambda a: a[0])

    def evidence(self, hits: _Hits) -> Iterable[int]:
        for pair in self._pairs(hits):
            yield from pair


class _Parser:
    """Recursive descent over the lexer's tokens; terms are interned in `terms`."""

    def __init__(self, query: str, intern: dict[tuple[str, bool], int], terms: list[Term]) -> None:
        self.tokens = self._lex(query)
        self.pos = 0
        self.intern = intern
        self.terms = terms

    @staticmethod
    def _lex(query: str) -> list[tuple[str, Any]]:
        tokens: list[tuple[str, Any]] = []
        pos = 0
        query = query.strip()
        while pos < len(query):
            m = _LEXER.match(query, pos)
            if not m or m.end() == pos:
                raise RuleError(f"cannot read the query at {query[pos:pos + 20]!r} (unbalanced quote?)")
            pos = m.end()
            if m["lp"]:
                tokens.append(("(", None))
            elif m["rp"]:
                tokens.append((")", None))
            elif m["near"]:
                tokens.append(("NEAR", int(m["n"])))
            elif m["op"]:
                tokens.append((m["op"], None))
            elif m["phrase"] is not None or m["word"]:
                text = m["phrase"] if m["phrase"] is not None else m["word"]
                if m["word"] and re.fullmatch(r"(NEAR|ONEAR|XOR)(/.*)?", m["word"]):
                    raise RuleError(f"{m['word']!r}: write proximity as NEAR/n, e.g. a NEAR/5 b")
                tokens.append(("TERM", (text, bool(m["case"]))))
        return tokens

    def parse(self) -> Node:
        if not self.tokens:
            raise RuleError("empty query")
        node = self._or()
        if self.pos < len(self.tokens):
            raise RuleError(f"unexpected {self.tokens[self.pos][0]!r} (unbalanced parenthesis?)")
        return node

    def _peek(self) -> str | None:
        return self.tokens[self.pos][0] if self.pos < len(self.tokens) else None

    def _or(self) -> Node:
        nodes = [self._and()]
        while self._peek() == "OR":
            self.pos += 1
            nodes.append(self._and())
        return nodes[0] if len(nodes) == 1 else OrNode(nodes)

    def _and(self) -> Node:
        nodes = [self._not()]
        while self._peek() in ("AND", "NOT", "TERM", "("):
            if self._peek() == "AND":
                self.pos += 1
            nodes.append(self._not())
        return nodes[0] if len(nodes) == 1 else AndNode(nodes)

    def _not(self) -> Node:
        if self._peek() == "NOT":
            self.pos += 1
            return NotNode(self._not())
        return self._near()

    def _near(self) -> Node:
        left = self._primary()
        if self._peek() != "NEAR":
            return left
        n = self.tokens[self.pos][1]
        self.pos += 1
        right = self._primary()
        if self._peek() == "NEAR":
            raise RuleError("chained NEAR: combine pairs with AND, e.g. (a NEAR/5 b) AND (b NEAR/5 c)")
        return NearNode(self._term_list(left), self._term_list(right), n)

    @staticmethod
    def _term_list(node: Node) -> list[int]:
        if isinstance(node, TermNode):
            return [node.tid]
        if isinstance(node, OrNode) and all(isinstance(c, TermNode) for c in node.children):
            return [c.tid for c in node.children if isinstance(c, TermNode)]
        raise RuleError("NEAR operands must be terms, phrases or (x OR y ...) lists of them")

    def _primary(self) -> Node:
        kind = self._peek()
        if kind is None:
            raise RuleError("query ends too early (operator without operand?)")
        if kind == "(":
            self.pos += 1
            node = self._or()
            if self._peek() != ")":
                raise RuleError("missing ')'")
            self.pos += 1
            return node
        if kind != "TERM":
            raise RuleError(f"unexpected {kind!r}")
        text, case = self.tokens[self.pos][1]
        self.pos += 1
        term = _make_term(text, case)
        ident = (term.pattern, term.case_sensitive)
        if ident not in self.intern:
            self.intern[ident] = len(self.terms)
            self.terms.append(term)
        return TermNode(self.intern[ident])


# ---------------------------------------------------------------------------- rule sets


@dataclass(frozen=True)
class Rule:
    id: str
    label: str
    default: Node | None  # `query`
    variants: Mapping[str, Node]  # `queries`: language -> expression
    languages: frozenset[str] | None

    def expression(self, lang: str | None) -> Node | None:
        if self.languages is not None and lang not in self.languages:
            return None
        return self.variants.get(lang or "", self.default)


class _Hits:
    """Terms found in one article and, lazily, their word spans (for NEAR)."""

    __slots__ = ("_spans", "_starts", "found", "term_words", "texts")

    def __init__(self, texts: tuple[str, str], term_words: Sequence[int] = ()) -> None:
        self.texts = texts  # (case-preserving, lower-cased) text, see RuleSet.match
        self.term_words = term_words  # term id -> number of words
        self.found: dict[int, list[tuple[int, int]]] = {}  # term id -> [(text index, char offset)]
        self._spans: dict[int, list[tuple[int, int]]] = {}
        self._starts: dict[int, list[int]] = {}

    def spans(self, tid: int) -> list[tuple[int, int]]:
        """(first word, last word) of each occurrence of a term, words counted as `\\w+` runs."""
        spans = self._spans.get(tid)
        if spans is None:
            words = self.term_words[tid] if tid < len(self.term_words) else 1
            spans = []
            for i, off in self.found.get(tid, ()):
                starts = self._starts.get(i)
                if starts is None:
                    starts = self._starts[i] = [m.start() for m in _WORD.finditer(self.texts[i])]
                first = bisect.bisect_right(starts, off + 1) - 1
                spans.append((first, first + words - 1))
            self._spans[tid] = spans
        return spans


class RuleSet:
    """Compiled rules: term automata, term -> rules index. Immutable once built."""

    def __init__(self, rules: list[Rule], terms: list[Term], errors: list[str]) -> None:
        self.rules = rules
        self.terms = terms
        self.errors = errors
        self._term_words = [t.words for t in terms]
        self._rules_of: list[Any] = [[] for _ in terms]
        cost = [_term_cost(t) for t in terms]
        for ri, rule in enumerate(rules):
            anchors: set[int] = set()
            for node in (rule.default, *rule.variants.values()):
                found = node.anchors(cost) if node is not None else None
                if found is not None:
                    anchors |= found[1]
            for tid in sorted(anchors):
                self._rules_of[tid].append(ri)
        self._rules_of = [tuple(r) for r in self._rules_of]
        self._automata: list[ahocorasick.Automaton | None] = []
        for case_sensitive in (True, False):
            keys: dict[str, list[int]] = {}
            for tid, term in enumerate(terms):
                if term.case_sensitive == case_sensitive:
                    keys.setdefault(term.key, []).append(tid)
            automaton = None
            if keys:
                automaton = ahocorasick.Automaton()
                for key, tids in keys.items():  # (length, terms found by the key alone, terms to check)
                    plain = tuple(t for t in tids if terms[t].regex is None)
                    checked = tuple((t, terms[t].regex) for t in tids if terms[t].regex is not None)
                    automaton.add_word(key, (len(key), plain, checked))
                automaton.make_automaton()
            self._automata.append(automaton)

    def __len__(self) -> int:
        return len(self.rules)

    def match(self, title: str | None, text: str, lang: str | None) -> list[dict[str, Any]]:
        """`[{id, label, matched_terms}]` for the rules the article satisfies, in file order."""
        if not self.rules:
            return []
        raw = f"{title}\n{text}" if title else text
        spaced = " " + raw[:MAX_CHARS] + " "
        for ch in _SPACED:  # every word gets a space before and after it (lengths unchanged)
            if ch in spaced:
                spaced = spaced.replace(ch, " ")
        texts = (spaced, spaced.lower())
        hits = _Hits(texts, self._term_words)
        found = hits.found
        terms = self.terms
        for index, automaton in enumerate(self._automata):
            if automaton is None:
                continue
            s = texts[index]
            for end, (length, plain, checked) in automaton.iter(s):
                start = end - length + 1
                for tid in plain:
                    at = found.get(tid)
                    if at is None:
                        found[tid] = [(index, start)]
                    else:
                        at.append((index, start))
                for tid, regex in checked:
                    if regex.match(s, start):
                        found.setdefault(tid, []).append((index, start))
        if not found:
            return []
        candidates = sorted(set().union(*map(self._rules_of.__getitem__, found)))
        out = []
        for ri in candidates:
            rule = self.rules[ri]
            expr = rule.expression(lang)
            if expr is None or not expr.eval(hits):
                continue
            fired: list[str] = []
            for tid in expr.evidence(hits):
                if terms[tid].display not in fired:
                    fired.append(terms[tid].display)
            out.append({"id": rule.id, "label": rule.label, "matched_terms": fired})
        return out


def compile_rules(data: Any) -> RuleSet:
    """Build a RuleSet from parsed YAML (`{topics: [...]}` or a bare list). Bad rules are skipped."""
    entries = data.get("topics") if isinstance(data, Mapping) else data
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        raise RuleError("the file must hold a `topics:` list")
    intern: dict[tuple[str, bool], int] = {}
    terms: list[Term] = []
    rules: list[Rule] = []
    errors: list[str] = []
    seen: set[str] = set()
    for n, entry in enumerate(entries):
        name = entry.get("id") if isinstance(entry, Mapping) else None
        where = f"topic {name!r}" if name else f"topic #{n + 1}"
        snapshot = len(terms), dict(intern)
        try:
            rule = _compile_rule(entry, intern, terms)
            if rule.id in seen:
                raise RuleError("duplicate id")
            seen.add(rule.id)
            rules.append(rule)
        except RuleError as exc:
            del terms[snapshot[0]:]  # drop the failed rule's terms
            intern.clear()
            intern.update(snapshot[1])
            errors.append(f"{where}: {exc}")
    return RuleSet(rules, terms, errors)


def _compile_rule(entry: Any, intern: dict[tuple[str, bool], int], terms: list[Term]) -> Rule:
    if not isinstance(entry, Mapping):
        raise RuleError("each topic must be a mapping with id, label and query")
    unknown = set(entry) - _RULE_KEYS
    if unknown:
        raise RuleError(f"unknown keys {sorted(map(str, unknown))} (allowed: {sorted(_RULE_KEYS)})")
    rule_id = entry.get("id")
    if not isinstance(rule_id, str | int) or not str(rule_id).strip():
        raise RuleError("missing id")
    label = entry.get("label", rule_id)
    queries = entry.get("queries") or {}
    if not isinstance(queries, Mapping):
        raise RuleError("`queries` must map language codes to queries")
    query = entry.get("query")
    if query is None and not queries:
        raise RuleError("needs `query` or `queries`")
    languages = entry.get("languages")
    if languages is not None:
        if isinstance(languages, str):
            languages = [languages]
        if not isinstance(languages, list) or not all(isinstance(x, str) for x in languages):
            raise RuleError("`languages` must be a list of language codes")
        languages = frozenset(x.strip().lower() for x in languages)

    def parse(q: Any, what: str) -> Node:
        if not isinstance(q, str):
            raise RuleError(f"{what} must be a string")
        try:
            node = _Parser(q, intern, terms).parse()
        except RuleError as exc:
            raise RuleError(f"{what}: {exc}") from None
        except RecursionError:
            raise RuleError(f"{what}: nested too deeply") from None
        if node.eval(_Hits(("", ""))):
            raise RuleError(f"{what} would match articles containing none of its terms (only NOT?)")
        return node

    default = parse(query, "query") if query is not None else None
    variants = {str(lang).strip().lower(): parse(q, f"queries.{lang}") for lang, q in queries.items()}
    return Rule(str(rule_id).strip(), str(label), default, variants, languages)


def load_rules(path: Path) -> RuleSet:
    """Parse and compile a rules file. Raises OSError / yaml.YAMLError / RuleError on a bad file."""
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    return compile_rules(data if data is not None else {})


# ---------------------------------------------------------------------------- hot reload


@dataclass
class UserTopicMatcher:
    """The rules of one file, re-read when the file changes (see the module docstring)."""

    path: Path | None
    check_interval: float = 2.0
    rules: RuleSet = field(default_factory=lambda: RuleSet([], [], []))
    _stamp: tuple[int, int, int] | None = None
    _checked: float = float("-inf")
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.path = Path(self.path) if self.path is not None else None
        self.maybe_reload(force=True)

    @property
    def errors(self) -> list[str]:
        return self.rules.errors

    def maybe_reload(self, force: bool = False) -> bool:
        """Reload when the file changed and `check_interval` passed. True when rules were replaced."""
        now = time.monotonic()
        if self.path is None or (not force and now - self._checked < self.check_interval):
            return False
        if not self._lock.acquire(blocking=False):
            return False
        try:
            self._checked = now
            try:
                st = os.stat(self.path)
            except OSError:
                if self._stamp is not None or force:
                    log.warning("user topics file %s is missing; keeping %d rules", self.path, len(self.rules))
                self._stamp = None
                return False
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
            if stamp == self._stamp:
                return False
            self._stamp = stamp
            try:
                rules = load_rules(self.path)
            except (OSError, UnicodeDecodeError, yaml.YAMLError, RuleError) as exc:
                log.error("user topics file %s not loaded, keeping %d rules: %s", self.path, len(self.rules), exc)
                return False
            except Exception:  # a bug must not stop the tag stage: keep tagging with the old rules
                log.exception("user topics file %s not loaded, keeping %d rules", self.path, len(self.rules))
                return False
            for error in rules.errors:
                log.error("user topics file %s: %s (rule skipped)", self.path, error)
            log.info("user topics: %d rules, %d terms from %s", len(rules), len(rules.terms), self.path)
            self.rules = rules
            return True
        finally:
            self._lock.release()

    def match(self, title: str | None, text: str, lang: str | None) -> list[dict[str, Any]]:
        return self.rules.match(title, text, lang)


def main(argv: Sequence[str] | None = None) -> int:
    """Validate rules files: `python -m services.tagger.user_topics FILE...`."""
    paths = list(argv if argv is not None else sys.argv[1:])
    if not paths:
        print("usage: python -m services.tagger.user_topics FILE...")
        return 2
    status = 0
    for name in paths:
        try:
            rules = load_rules(Path(name))
        except (OSError, UnicodeDecodeError, yaml.YAMLError, RuleError) as exc:
            print(f"{name}: not loaded: {exc}")
            status = 1
            continue
        for error in rules.errors:
            print(f"{name}: {error}")
        status = status or int(bool(rules.errors))
        print(f"{name}: {len(rules)} rules, {len(rules.terms)} distinct terms, {len(rules.errors)} errors")
    return status


if __name__ == "__main__":
    sys.exit(main())
