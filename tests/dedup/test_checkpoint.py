"""Dedup checkpoints: chunked, double-buffered, verified; restore + catch-up equals never stopping."""

from __future__ import annotations

import random

import orjson

from services.dedup.checkpoint import Checkpoint, CheckpointStore, PartitionedDeduplicator, RecordingTable
from services.dedup.core import Deduplicator

WORDS = ("harbour council river bridge school hospital museum railway election budget festival market factory "
         "airport library stadium court police garden tram ferry vineyard orchestra mayor union drought storm "
         "research satellite vaccine tariff pension housing energy transport climate minister parliament").split()


def text_for(i: int) -> str:
    rng = random.Random(i)
    return " ".join(" ".join(rng.choices(WORDS, k=12)) + "." for _ in range(12))


def article(i: int) -> dict[str, object]:
    return {"id": f"a{i}", "title": f"Headline {i}", "text": text_for(i),
            "published_at": f"2026-11-18T{i % 24:02d}:00:00Z", "ingested_at": "2026-11-18T23:00:00Z", "lang": "en"}


def test_store_round_trips_across_chunks_and_slots() -> None:
    table: dict[bytes, bytes] = {}
    store = CheckpointStore(table, chunk_bytes=10)
    store.save(Checkpoint(0, 5, b"x" * 35))
    assert store.load(0) == Checkpoint(0, 5, b"x" * 35)
    first_slot = orjson.loads(table[b"p0/manifest"])["slot"]
    store.save(Checkpoint(0, 9, b"y" * 12))
    assert store.load(0) == Checkpoint(0, 9, b"y" * 12)
    assert orjson.loads(table[b"p0/manifest"])["slot"] != first_slot  # the previous checkpoint stays whole
    store.save(Checkpoint(0, 12, b"z" * 5))  # back in the first slot, fewer chunks: leftovers dropped
    assert store.load(0) == Checkpoint(0, 12, b"z" * 5)
    assert not [k for k in table if k.startswith(f"p0/{first_slot}/".encode()) and not k.endswith(b"000000")]
    assert store.load(1) is None


def test_corrupt_or_partial_checkpoint_is_ignored() -> None:
    table: dict[bytes, bytes] = {}
    store = CheckpointStore(table, chunk_bytes=4)
    store.save(Checkpoint(0, 3, b"abcdefgh"))
    slot = orjson.loads(table[b"p0/manifest"])["slot"]
    table[f"p0/{slot}/000001".encode()] = b"XXXX"
    assert store.load(0) is None
    del table[f"p0/{slot}/000001".encode()]
    assert store.load(0) is None
    table[b"p0/manifest"] = b"not json"
    assert store.load(0) is None


def test_restore_and_catch_up_gives_the_state_of_a_worker_that_never_stopped() -> None:
    stream = [article(i) for i in range(12)]
    stream[7] = {**stream[2], "id": "copy-of-a2", "title": "A new headline"}  # a near copy after the checkpoint
    never_stopped = Deduplicator()
    expected = [never_stopped.check(a) for a in stream]

    clock = [0.0]
    state = PartitionedDeduplicator(Deduplicator, CheckpointStore({}), interval_s=10, clock=lambda: clock[0])
    assert state.needs_restore(0, 0)
    dedup, start = state.restore(0)
    assert start is None
    state.adopt(0, dedup, 0)
    got = []
    for offset, a in enumerate(stream[:5]):
        got.append(dedup.check(a))
        state.processed(0, offset)
    clock[0] = 11
    assert state.checkpoint_due(0)
    state.save(state.snapshot(0))  # covers offsets 0..4
    assert not state.checkpoint_due(0)
    for offset, a in enumerate(stream[5:9], start=5):
        got.append(dedup.check(a))
        state.processed(0, offset)
    # the worker dies here: offsets 5..8 were processed (and committed) after the checkpoint

    restarted = PartitionedDeduplicator(Deduplicator, state.store, interval_s=10)
    assert restarted.needs_restore(0, 9)
    dedup2, start = restarted.restore(0)
    assert start == 5
    for a in stream[start:9]:  # catch-up, outputs discarded
        dedup2.check(a)
    restarted.adopt(0, dedup2, 9)
    got += [dedup2.check(a) for a in stream[9:]]
    assert got == expected
    assert got[7]["status"] == "duplicate" and got[7]["duplicate_of"] == "a2"  # same body, new headline
    assert dedup2.check(stream[7]) == expected[7]  # redelivered after the restart: same verdict


def test_revoked_partition_is_restored_only_if_someone_else_moved_it_on() -> None:
    state = PartitionedDeduplicator(Deduplicator, CheckpointStore({}))
    state.adopt(0, Deduplicator(), 10)
    assert not state.needs_restore(0, 10)
    state.revoked({0})
    assert not state.needs_restore(0, 10)  # resumed where this worker stopped
    state.revoked({0})
    assert state.needs_restore(0, 25)  # another worker processed 10..24 meanwhile
    assert state.needs_restore(3, 0)  # never seen here


def test_unreadable_checkpoint_rebuilds_from_scratch() -> None:
    store = CheckpointStore({})
    store.save(Checkpoint(0, 7, b"not an npz"))
    dedup, start = PartitionedDeduplicator(Deduplicator, store).restore(0)
    assert start is None and isinstance(dedup, Deduplicator)


def test_recording_table_replays_into_the_same_checkpoint() -> None:
    """What the worker does: writes go to Kafka as (key, value) records; a restore reads them back."""
    table = RecordingTable()
    store = CheckpointStore(table, chunk_bytes=4)
    store.save(Checkpoint(0, 3, b"abcdefghij"))
    store.save(Checkpoint(0, 9, b"klmnop"))
    store.save(Checkpoint(0, 12, b"qr"))  # back in the first slot, fewer chunks: deletions recorded
    log = [(k, v or b"") for k, v in table.take_writes()]  # a deletion travels as an empty value
    assert table.take_writes() == []
    assert any(v == b"" for _, v in log)
    restored = RecordingTable()
    restored[b"p1/manifest"] = b"other partition, kept"
    restored[b"p0/a/000007"] = b"stale, dropped"
    restored.take_writes()
    restored.load_partition(0, [*log, (b"p1/manifest", b"not ours")])
    assert CheckpointStore(restored).load(0) == Checkpoint(0, 12, b"qr")
    assert restored[b"p1/manifest"] == b"other partition, kept"
    assert b"p0/a/000007" not in restored and restored.writes == []
