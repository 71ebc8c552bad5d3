"""The benchmark harness (bench/) stays runnable: its corpus builder and its command line.

Only structure is checked here, never speed: benchmarks are not timed tests (bench/README.md).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.corpus import build_corpus, restamp, warmup_outcomes
from services.kafka.topics import RAW
from services.sink.schemas import validator

ROOT = Path(__file__).resolve().parents[2]


def test_synthetic_corpus_is_raw_records_with_variations(tmp_path: Path) -> None:
    corpus = build_corpus(90, seed=3, shared=tmp_path / "no-shared-here")
    assert corpus.source == "synthetic"
    assert "no-shared-here" in corpus.note and "SYNTHETIC" in corpus.note
    assert len(corpus.docs) == 90
    raw = validator("raw")
    for doc in corpus.docs:
        assert doc.outcome.topic == RAW
        assert raw.errors(doc.outcome.record) == []
        assert doc.outcome.key == doc.outcome.record["id"]
    assert len(set(corpus.ids)) == 90, "every document needs its own id"
    kinds = {d.kind for d in corpus.docs}
    assert kinds == {"html", "text"}
    assert {d.outcome.record["kind"] for d in corpus.docs} == kinds


def test_repeats_are_varied_not_all_exact_copies() -> None:
    corpus = build_corpus(600, seed=5, synthetic=True)  # more than the 420 generated items: repeats
    stats = corpus.stats()
    assert stats["by_variation"].get("original") == 420
    repeats = [d for d in corpus.docs if d.variation != "original"]
    assert {d.variation for d in repeats} <= {"exact", "edit", "rewrite"}
    originals = {d.origin: d.outcome.record["body"] for d in corpus.docs if d.variation == "original"}
    changed = [d for d in repeats if d.outcome.record["body"] != originals[d.origin]]
    exact = [d for d in repeats if d.variation == "exact"]
    assert changed and exact
    assert all(d.outcome.record["body"] == originals[d.origin] for d in exact)


def test_corpus_is_reproducible_and_restamp_keeps_the_id() -> None:
    a, b = build_corpus(50, seed=9, synthetic=True), build_corpus(50, seed=9, synthetic=True)
    assert a.ids == b.ids
    outcome = a.docs[0].outcome
    again = restamp(outcome, "2030-01-01T00:00:00.000Z")
    assert again.key == outcome.key and again.record["ingested_at"] == "2030-01-01T00:00:00.000Z"
    assert outcome.record["ingested_at"] != again.record["ingested_at"]
    warm = warmup_outcomes(6)
    assert len(warm) == 6 and not {o.key for o in warm} & set(a.ids)


def test_help_runs() -> None:
    proc = subprocess.run([sys.executable, "-m", "bench.pipeline_bench", "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "--quick" in proc.stdout and "--docs" in proc.stdout and "--profile" in proc.stdout


def test_cpu_split_per_document_from_worker_metrics() -> None:
    """Two workers' /metrics before and after a run: summed, per document, the rest outside the cores."""
    from bench.pipeline_bench import cpu_split, cpu_table

    before = [{"process": 10.0, "clean": 4.0, "tag": 1.0, "dedup": 0.5}, {"process": 9.0, "clean": 3.0}]
    after = [{"process": 20.0, "clean": 10.0, "tag": 2.0, "dedup": 1.5}, {"process": 19.0, "clean": 9.0, "tag": 1.0}]
    split = cpu_split(before, after, docs=1000)
    assert split == {"clean_ms_per_doc": 12.0, "dedup_ms_per_doc": 1.0, "tag_ms_per_doc": 2.0,
                     "stages_ms_per_doc": 15.0, "process_ms_per_doc": 20.0, "outside_stages_ms_per_doc": 5.0}
    assert cpu_split(before, [{}, {}], docs=1000) == {}  # a worker that did not answer: no split
    assert cpu_split(before, [after[0], {}], docs=1000) == {}  # not one worker's CPU over all documents
    rows = cpu_table({}, None, {"2w_max": {"worker_cpu_split": split, "accounted": 1000,
                                           "meter": {"cpu_s": {"broker": 3.0}}}})
    assert rows[-1] == ("| end to end, 2 worker(s), max (all workers) "
                        "| 12.00 | 2.00 | 1.00 | 15.00 | 5.00 | – | 20.00 | 3.00 |")


def test_cpu_split_names_the_event_loops_share_when_every_worker_has_one() -> None:
    """The main thread's CPU (the event loop) is part of *outside the cores*, not a stage."""
    from bench.pipeline_bench import cpu_split, cpu_table

    before = [{"process": 10.0, "clean": 4.0, "event_loop": 1.0}, {"process": 9.0, "clean": 3.0, "event_loop": 2.0}]
    after = [{"process": 20.0, "clean": 10.0, "event_loop": 2.5}, {"process": 19.0, "clean": 9.0, "event_loop": 2.5}]
    split = cpu_split(before, after, docs=1000)
    assert split == {"clean_ms_per_doc": 12.0, "stages_ms_per_doc": 12.0, "process_ms_per_doc": 20.0,
                     "outside_stages_ms_per_doc": 8.0, "event_loop_ms_per_doc": 2.0}
    # one worker's event loop unread: no share (the sum would be one worker's over all documents)
    assert "event_loop_ms_per_doc" not in cpu_split(before, [after[0], {"process": 19.0, "clean": 9.0}], docs=1000)
    rows = cpu_table({}, None, {"1w_max": {"worker_cpu_split": split, "accounted": 1000, "meter": {}}})
    assert rows[-1].endswith("| 12.00 | 8.00 | 2.00 | 20.00 | – |")


def test_main_thread_cpu_of_this_process() -> None:
    from bench.pipeline_bench import main_thread_cpu_s

    pytest.importorskip("psutil", reason="a bench extra: pip install -e '.[bench]'")
    if not sys.platform.startswith("linux"):
        pytest.skip("the main thread's id is the pid on Linux only")
    assert (main_thread_cpu_s(os.getpid()) or 0.0) > 0.0  # this test's own interpreter has run a while
    assert main_thread_cpu_s(2**22 + 1) is None  # no such process


def test_steady_latencies_leave_out_the_first_tenth_of_the_run() -> None:
    from bench.pipeline_bench import steady_latencies

    # (publish time s, latency ms): a start-up burst in the first second of a 20 s run
    series = [(0.0, 700.0), (0.5, 650.0), (1.9, 90.0), (2.0, 80.0), (10.0, 60.0), (20.0, 70.0)]
    assert steady_latencies(series) == [80.0, 60.0, 70.0]
    assert steady_latencies(series, skip=0.0) == [ms for _, ms in series]
    assert steady_latencies([]) == []


def test_a_documents_latency_splits_into_hops_that_add_up_to_it() -> None:
    from bench.pipeline_bench import HOPS, hop_summary, hop_times

    # published at 1000 ms, cleaned at 1030, tagged at 1045, enriched at 1050, read at 1054
    assert hop_times(1000.0, 1030, 1045, 1050, 1054.0) == [30.0, 15.0, 5.0, 4.0]
    assert hop_times(1000.0, None, 1045, 1050, 1054.0) is None  # its news.cleaned record was not seen
    # (publish time s, hops): the slow ones in the first tenth of a 10 s run
    rows = [(0.5, [300.0, 15.0, 80.0, 5.0])] * 5 + [(1.0 + i / 10, [30.0, 15.0, 5.0, 4.0]) for i in range(91)]
    summary = hop_summary(rows)
    assert summary["samples"] == 96
    assert summary["percentiles"][HOPS[0]]["p50"] == 30.0
    slowest = summary["slowest_5pct"]
    assert slowest["docs"] == 5 and slowest["total_ms_p50"] == 400.0
    assert [slowest[name] for name in HOPS] == [300.0, 15.0, 80.0, 5.0]
    assert summary["start_p50"]["docs"] == 5 and summary["start_p50"][HOPS[0]] == 300.0
    assert summary["after_start_p50"]["docs"] == 91 and summary["after_start_p50"]["total_ms_p50"] == 54.0
    assert hop_summary([]) == {"samples": 0}


def _run(docs_per_s: float, per_worker_cpu_s: float, workers_cores: list[float]) -> dict[str, object]:
    cpu = {f"w/worker-{i + 1}": cores * 10.0 for i, cores in enumerate(workers_cores)}
    return {"docs_per_s": docs_per_s, "docs_per_worker_cpu_s": per_worker_cpu_s,
            "meter": {"wall_s": 10.0, "cpu_s": {"broker": 2.0, **cpu}}}


def test_the_chain_around_the_one_worker_run_counts_as_their_mean_cost() -> None:
    """A steady drift within a round: the chain before and after the worker run, averaged per document."""
    from bench.pipeline_bench import bracketed, round_ratios, rounds_table

    before = {"docs_per_s": 80.0, "docs_per_cpu_s": 80.0, "docs": 100}
    after = {"docs_per_s": 40.0, "docs_per_cpu_s": 40.0}
    chain = bracketed([before, after])
    assert chain is not None and chain["docs_per_s"] == 53.33 and chain["docs"] == 100  # 12.5 and 25 ms -> 18.75 ms
    assert bracketed([]) is None and bracketed([before])["docs_per_cpu_s"] == 80.0
    entry = {"round": 1, "order": [1, 2], "chain": chain, "chain_runs": [before, after],
             "runs": {"1w": _run(48.0, 48.0, [1.0]), "2w": _run(72.0, 48.0, [0.75, 0.75])}}
    assert round_ratios([entry])["e2e_vs_chain"] == [0.9]
    assert any("| 80.0 / 40.0 |" in line for line in rounds_table([entry]))


def test_ratios_are_taken_within_each_round_and_reported_as_the_median() -> None:
    """The machine drifts between minutes: a ratio compares runs of one round, never across rounds."""
    from bench.pipeline_bench import median_run, ratios, round_ratios, rounds_table

    rounds = [
        {"round": 1, "order": [1, 2], "chain": {"docs_per_s": 80.0, "docs_per_cpu_s": 80.0},
         "runs": {"1w": _run(48.0, 50.0, [0.96]), "2w": _run(72.0, 50.0, [0.72, 0.72])}},
        {"round": 2, "order": [2, 1], "chain": {"docs_per_s": 40.0, "docs_per_cpu_s": 40.0},  # a slow minute
         "runs": {"2w": _run(36.0, 25.0, [0.72, 0.72]), "1w": _run(20.0, 25.0, [0.8])}},
        {"round": 3, "order": [1, 2], "chain": {"docs_per_s": 60.0, "docs_per_cpu_s": 60.0},
         "runs": {"1w": _run(42.0, 40.0, [1.0]), "2w": _run(63.0, 40.0, [0.75, 0.75])}},
    ]
    per = round_ratios(rounds)
    assert per["e2e_vs_chain"] == [0.6, 0.5, 0.7]
    assert per["two_vs_one"] == [1.5, 1.8, 1.5]
    assert per["two_vs_one_cpu"] == [1.0, 1.0, 1.0]
    assert per["two_vs_one_cores"] == [1.5, 1.8, 1.5]
    assert median_run(rounds, 1)["docs_per_s"] == 42.0  # the median run, shown in the tables
    assert median_run(rounds, 3) is None

    result = {"e2e": {"rounds": rounds, "runs": {"1w_max": median_run(rounds, 1), "2w_max": median_run(rounds, 2)}}}
    by_name = {r["ratio"]: r for r in ratios(result)}
    e2e = by_name["end to end (1 worker, max) / chain, whole corpus"]
    assert e2e["value"] == 0.6 and e2e["met"] is False and "0.60; 0.50; 0.70" in e2e["note"]
    # across rounds (median runs 42/s and 63/s) it would read 1.5; within rounds the median is 1.5 too
    assert by_name["2 workers / 1 worker (max throughput)"]["value"] == 1.5

    rounds[1]["runs"]["1w"] = {"failure": "TimeoutError: worker died"}  # a failed run spoils its round only
    assert round_ratios(rounds)["two_vs_one"] == [1.5, 1.5]
    assert median_run(rounds, 1)["failure"]
    table = rounds_table(rounds)
    assert any(line.startswith("| 2 | 2w → 1w |") and "failed" in line for line in table)
