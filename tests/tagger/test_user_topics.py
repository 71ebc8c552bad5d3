"""User-topic rules: the query language, matched terms, per-language variants, hot reload."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from services.tagger.core import EXAMPLE_USER_TOPICS
from services.tagger.user_topics import RuleSet, UserTopicMatcher, compile_rules, load_rules, main


def rules(*queries: str, **variants: str) -> RuleSet:
    """One topic per query (ids t0, t1, ...); keyword arguments add per-language variants to t0."""
    topics = [{"id": f"t{i}", "label": f"T{i}", "query": q} for i, q in enumerate(queries)]
    if variants:
        topics[0]["queries"] = variants
    compiled = compile_rules({"topics": topics})
    assert not compiled.errors, compiled.errors
    return compiled


def ids(ruleset: RuleSet, text: str, lang: str | None = "en", title: str | None = None) -> list[str]:
    return [m["id"] for m in ruleset.match(title, text, lang)]


def test_single_word_is_case_insensitive_and_whole_word() -> None:
    r = rules("nato")
    assert ids(r, "NATO allies met.") == ["t0"]
    assert ids(r, "The Nato summit") == ["t0"]
    assert ids(r, "Senator Smith") == []  # no match inside a word
    assert ids(r, "natomic") == []


def test_and_or_not_and_precedence() -> None:
    r = rules("arctic AND security", "arctic OR antarctic", "arctic AND NOT monkeys", "arctic security OR tundra")
    assert ids(r, "Security in the Arctic is tense.") == ["t0", "t1", "t2", "t3"]
    assert ids(r, "The Antarctic is cold.") == ["t1"]
    assert ids(r, "Arctic Monkeys play tonight.") == ["t1"]
    assert ids(r, "Tundra wildfires") == ["t3"]  # NOT > AND > OR: (arctic AND security) OR tundra


def test_parentheses() -> None:
    r = rules("(arctic OR greenland) AND (military OR defence)")
    assert ids(r, "Greenland boosts its defence.") == ["t0"]
    assert ids(r, "Greenland fishing quotas") == []


def test_quoted_phrase_ignores_punctuation_and_spacing() -> None:
    r = rules('"high north"', '"u.s. president"')
    assert ids(r, "Tensions in the High\n  North rise.") == ["t0"]
    assert ids(r, "north high") == []
    assert ids(r, "The U.S. President said.") == ["t1"]
    assert ids(r, "The US President said.") == []  # "u s president" is three words


def test_wildcards() -> None:
    r = rules("nato*", "defen?e", '"arctic secur*"')
    assert ids(r, "NATO's chief") == ["t0"]
    assert ids(r, "natos") == ["t0"]
    assert ids(r, "Defence and defense") == ["t1"]
    assert ids(r, "defenxxe") == []
    assert ids(r, "Arctic securitisation") == ["t2"]


def test_near() -> None:
    r = rules("russia NEAR/3 attack*", "(arctic OR greenland) NEAR/0 security")
    assert ids(r, "Russia launched an attack") == ["t0"]  # two words between
    assert ids(r, "attacks by Russia") == ["t0"]  # either order
    assert ids(r, "Russia said on Monday that an attack") == []  # five words between
    assert ids(r, "Arctic security and Greenland politics") == ["t1"]
    assert ids(r, "Greenland and security") == []


def test_near_counts_words_not_characters() -> None:
    r = rules("alpha NEAR/1 omega")
    assert ids(r, "alpha, beta-gamma omega") == []  # "-" splits: beta, gamma = two words between
    assert ids(r, "alpha (beta) omega") == ["t0"]


def test_case_sensitive_terms() -> None:
    r = rules("case:US AND troops", 'case:"Baltic Sentry"')
    assert ids(r, "US troops arrived.") == ["t0"]
    assert ids(r, "Give us troops.") == []
    assert ids(r, "Operation Baltic Sentry began.") == ["t1"]
    assert ids(r, "operation baltic sentry") == []


def test_per_language_variants_and_default() -> None:
    r = rules("greenland", de="grönland*", da="grønland*")
    assert ids(r, "Grönlands Regierung", "de") == ["t0"]
    assert ids(r, "Greenland", "de") == []  # the German variant replaces the default for German
    assert ids(r, "Grønland og Danmark", "da") == ["t0"]
    assert ids(r, "Greenland's government", "en") == ["t0"]
    assert ids(r, "Greenland's government", "fr") == ["t0"]  # no French variant: the default
    assert ids(r, "Greenland", None) == ["t0"]


def test_languages_restriction_and_variant_only_rules() -> None:
    compiled = compile_rules({"topics": [
        {"id": "en-only", "query": "greenland", "languages": ["en"]},
        {"id": "de-only", "queries": {"de": "grönland"}},
    ]})
    assert ids(compiled, "Greenland", "en") == ["en-only"]
    assert ids(compiled, "Greenland", "da") == []
    assert ids(compiled, "Grönland", "de") == ["de-only"]
    assert ids(compiled, "Grönland", "sv") == []


def test_matched_terms_are_the_terms_that_made_the_rule_true() -> None:
    r = rules("(arctic OR greenland*) AND (security OR nato) AND NOT sport", "russia NEAR/2 attack OR drones")
    out = {m["id"]: m for m in r.match("Greenland", "NATO and Greenlanders discuss Arctic security.", "en")}
    assert out["t0"]["label"] == "T0"
    assert out["t0"]["matched_terms"] == ["arctic", "greenland*", "security", "nato"]
    far = r.match(None, "Russia said drones would be used; the attack came later.", "en")
    assert far[0]["matched_terms"] == ["drones"]  # "attack" is too far from "russia" to count


def test_cjk_terms_match_inside_runs() -> None:
    r = rules("北极 AND 安全")
    assert ids(r, "北极地区的安全问题", "zh") == ["t0"]
    assert ids(r, "南极地区", "zh") == []


def test_title_is_searched() -> None:
    assert ids(rules("greenland"), "The island's government said.", title="Greenland votes") == ["t0"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("NOT sport", "none of its terms"),
        ("arctic OR NOT sport", "none of its terms"),
        ("(arctic AND security", "missing ')'"),
        ("arctic)", "unexpected"),
        ('"arctic security', "cannot read"),
        ("*ship", "two letters"),
        ("a*", "two letters"),
        ("arctic AND", "ends too early"),
        ("aa NEAR/2 bb NEAR/2 cc", "chained NEAR"),
        ("(aa AND bb) NEAR/2 cc", "NEAR operands"),
        ("arctic NEAR security", "NEAR/n"),
        ("", "empty query"),
        ('"..."', "no letters"),
    ],
)
def test_bad_queries_are_reported_and_skipped(query: str, message: str) -> None:
    compiled = compile_rules({"topics": [{"id": "bad", "query": query}, {"id": "good", "query": "arctic"}]})
    assert [r.id for r in compiled.rules] == ["good"]
    assert len(compiled.errors) == 1 and "bad" in compiled.errors[0] and message in compiled.errors[0]
    assert ids(compiled, "Arctic") == ["good"]


def test_bad_entries_are_reported() -> None:
    compiled = compile_rules({"topics": [
        {"id": "a", "query": "x1", "colour": "red"},
        {"id": "b"},
        {"query": "x2"},
        {"id": "c", "query": "arctic"},
        {"id": "c", "query": "antarctic"},
        {"id": "d", "queries": ["de"]},
        {"id": "e", "query": "x3", "languages": 5},
        "not a mapping",
    ]})
    assert [r.id for r in compiled.rules] == ["c"]
    assert len(compiled.errors) == 7
    assert any("unknown keys" in e for e in compiled.errors)
    assert any("duplicate id" in e for e in compiled.errors)


def test_empty_and_bare_list_files() -> None:
    assert len(compile_rules({})) == 0 and compile_rules({}).match(None, "anything", "en") == []
    assert len(compile_rules([{"id": "x", "query": "arctic"}])) == 1
    assert len(compile_rules({"topics": None})) == 0


def test_thousands_of_rules_share_one_scan() -> None:
    topics = [{"id": f"r{i}", "query": f'(word{i} OR "phrase {i}") AND NOT noise{i}'} for i in range(3000)]
    compiled = compile_rules({"topics": topics})
    assert len(compiled) == 3000 and not compiled.errors
    assert ids(compiled, "word17 and phrase 2999 and noise17") == ["r2999"]


def _write(path: Path, text: str, bump: int) -> None:
    path.write_text(text, encoding="utf-8")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + bump * 1_000_000_000))  # a visibly new mtime


def test_reload_when_the_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    _write(path, "topics:\n  - {id: a, label: A, query: arctic}\n", 1)
    matcher = UserTopicMatcher(path, check_interval=0.0)
    assert [m["id"] for m in matcher.match(None, "Arctic", "en")] == ["a"]
    assert matcher.maybe_reload() is False  # unchanged
    _write(path, "topics:\n  - {id: b, label: B, query: greenland}\n", 2)
    assert matcher.maybe_reload() is True
    assert matcher.match(None, "Arctic", "en") == []
    assert [m["id"] for m in matcher.match(None, "Greenland", "en")] == ["b"]


def test_reload_waits_for_the_check_interval(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    _write(path, "topics:\n  - {id: a, query: arctic}\n", 1)
    matcher = UserTopicMatcher(path, check_interval=3600.0)
    _write(path, "topics:\n  - {id: b, query: greenland}\n", 2)
    assert matcher.maybe_reload() is False  # checked at construction, not again for an hour
    assert matcher.maybe_reload(force=True) is True


def test_broken_or_missing_file_keeps_the_previous_rules(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    _write(path, "topics:\n  - {id: a, query: arctic}\n", 1)
    matcher = UserTopicMatcher(path, check_interval=0.0)
    _write(path, "topics: [ {id: a, query: arctic\n", 2)  # YAML syntax error
    assert matcher.maybe_reload() is False
    assert [m["id"] for m in matcher.match(None, "Arctic", "en")] == ["a"]
    path.unlink()
    assert matcher.maybe_reload() is False
    assert len(matcher.rules) == 1
    _write(path, "topics:\n  - {id: c, query: tundra}\n", 3)  # the file comes back
    assert matcher.maybe_reload() is True and [r.id for r in matcher.rules.rules] == ["c"]


def test_no_file_means_no_rules(tmp_path: Path) -> None:
    assert UserTopicMatcher(None).match(None, "Arctic", "en") == []
    matcher = UserTopicMatcher(tmp_path / "absent.yaml", check_interval=0.0)
    assert matcher.match(None, "Arctic", "en") == []
    _write(tmp_path / "absent.yaml", "topics:\n  - {id: a, query: arctic}\n", 1)
    assert matcher.maybe_reload() is True and len(matcher.rules) == 1


def test_validation_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("topics:\n  - {id: a, query: arctic}\n", encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text("topics:\n  - {id: a, query: 'NOT sport'}\n", encoding="utf-8")
    assert main([str(good)]) == 0
    assert main([str(bad)]) == 1
    assert main([str(tmp_path / "missing.yaml")]) == 1
    assert main([]) == 2
    out = capsys.readouterr().out
    assert "1 rules" in out and "none of its terms" in out and "not loaded" in out


def test_example_file_is_valid_and_covers_the_seed_themes() -> None:
    compiled = load_rules(EXAMPLE_USER_TOPICS)
    assert not compiled.errors
    assert {r.label for r in compiled.rules} >= {"Arctic security", "Greenland", "Ukraine war"}
    text = ("NATO allies discussed Arctic security as Russian warships were seen near Greenland. "
            "Kyiv said Russian forces attacked Ukrainian positions; the war is in its fourth year.")
    assert {m["label"] for m in compiled.match(None, text, "en")} == {"Arctic security", "Greenland", "Ukraine war"}
    german = "Die NATO will die Sicherheit in der Arktis stärken, Grönland begrüßt das."
    assert {m["label"] for m in compiled.match(None, german, "de")} == {"Arctic security", "Greenland"}
    assert compiled.match(None, "The Arctic Monkeys played a concert.", "en") == []


def test_pathological_queries_are_refused_not_crashing() -> None:
    deep = "(" * 5000 + "arctic" + ")" * 5000
    compiled = compile_rules({"topics": [{"id": "deep", "query": deep}, {"id": "ok", "query": "NEARBY"}]})
    assert [r.id for r in compiled.rules] == ["ok"] and "nested too deeply" in compiled.errors[0]
