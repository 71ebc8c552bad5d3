"""The benchmark harness (bench/) stays runnable: its corpus builder and its command line.

Only structure is checked here, never speed: benchmarks are not timed tests (bench/README.md).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
                        "| 12.00 | 2.00 | 1.00 | 15.00 | 5.00 | 20.00 | 3.00 |")


def test_steady_latencies_leave_out_the_first_tenth_of_the_run() -> None:
    from bench.pipeline_bench import steady_latencies

    # (publish time s, latency ms): a start-up burst in the first second of a 20 s run
    series = [(0.0, 700.0), (0.5, 650.0), (1.9, 90.0), (2.0, 80.0), (10.0, 60.0), (20.0, 70.0)]
    assert steady_latencies(series) == [80.0, 60.0, 70.0]
    assert steady_latencies(series, skip=0.0) == [ms for _, ms in series]
    assert steady_latencies([]) == []
