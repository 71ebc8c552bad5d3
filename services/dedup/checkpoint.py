"""Dedup state that survives restarts: checkpoints in a table, caught up from the input topic.

The dedup state (`Deduplicator.snapshot()`) is a few hundred bytes per article in the window, too
big for one Kafka message and too costly to write per record. So each input partition's state is
checkpointed every `interval_s` into a key-value table (in the worker: records on the compacted
`news.dedup.state` topic), cut into chunks, together with the input
offset it covers. After a restart or a rebalance the worker restores the latest checkpoint and
re-checks the `news.tagged` records between that offset and where its consumer resumed, with
outputs discarded. The checks are deterministic, so the caught-up state is the one the previous
owner had when it stopped. No checkpoint at all (first start, lost changelog) means catching up
from the start of the window. Re-delivered records are harmless: verdicts are kept by article id.

Writes are double-buffered: chunks go to the slot the current manifest does not name, and the
manifest (naming slot, chunk count, size and SHA-256) is written last, so a crash mid-write leaves
the previous checkpoint whole. A checkpoint that fails its digest is ignored, never half-loaded.

Everything here is pure: the table is any `MutableMapping[bytes, bytes]`, time is injected. In the
worker it is a `RecordingTable`: a dict loaded from `news.dedup.state` when a partition is restored,
whose writes the agent then sends to that topic (compacted, keyed like the table).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass

import orjson

from services.dedup.core import Deduplicator

log = logging.getLogger(__name__)

CHUNK_BYTES = 512 * 1024
CHECKPOINT_VERSION = 1


class RecordingTable(dict[bytes, bytes]):
    """A dict that remembers its writes (value None = deleted), so they can be sent to Kafka."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[tuple[bytes, bytes | None]] = []

    def __setitem__(self, key: bytes, value: bytes) -> None:
        super().__setitem__(key, value)
        self.writes.append((key, value))

    def __delitem__(self, key: bytes) -> None:
        super().__delitem__(key)
        self.writes.append((key, None))

    def take_writes(self) -> list[tuple[bytes, bytes | None]]:
        writes, self.writes = self.writes, []
        return writes

    def load_partition(self, partition: int, records: Iterable[tuple[bytes | None, bytes | None]]) -> None:
        """Replace one partition's keys with what its topic partition holds (latest value per key;
        an empty value is a deletion), without recording anything."""
        prefix = f"p{partition}/".encode()
        for key in [k for k in self if k.startswith(prefix)]:
            super().__delitem__(key)
        for key, value in records:
            if key is None or not key.startswith(prefix):
                continue
            if value:
                super().__setitem__(key, value)
            elif key in self:
                super().__delitem__(key)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """One partition's dedup state as of input `offset` (every record before it is included)."""

    partition: int
    offset: int
    data: bytes


class CheckpointStore:
    """Checkpoints in a key-value table, one manifest and two chunk slots per partition."""

    def __init__(self, table: MutableMapping[bytes, bytes], chunk_bytes: int = CHUNK_BYTES) -> None:
        self.table = table
        self.chunk_bytes = chunk_bytes

    @staticmethod
    def _manifest_key(partition: int) -> bytes:
        return f"p{partition}/manifest".encode()

    @staticmethod
    def _chunk_key(partition: int, slot: str, i: int) -> bytes:
        return f"p{partition}/{slot}/{i:06d}".encode()

    def manifest(self, partition: int) -> dict[str, object] | None:
        raw = self.table.get(self._manifest_key(partition))
        if not raw:
            return None
        try:
            manifest = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return None
        return manifest if isinstance(manifest, dict) and manifest.get("version") == CHECKPOINT_VERSION else None

    def load(self, partition: int) -> Checkpoint | None:
        """The latest whole checkpoint of `partition`, or None (none written, or it fails its digest)."""
        manifest = self.manifest(partition)
        if manifest is None:
            return None
        slot, n = str(manifest["slot"]), int(manifest["chunks"])  # type: ignore[call-overload]
        parts = [self.table.get(self._chunk_key(partition, slot, i)) for i in range(n)]
        if any(part is None for part in parts):
            log.warning("dedup checkpoint of partition %d is missing chunks; ignoring it", partition)
            return None
        data = b"".join(parts)  # type: ignore[arg-type]
        if hashlib.sha256(data).hexdigest() != manifest["sha256"]:
            log.warning("dedup checkpoint of partition %d fails its digest; ignoring it", partition)
            return None
        return Checkpoint(partition, int(manifest["offset"]), data)  # type: ignore[call-overload]

    def save(self, checkpoint: Checkpoint) -> int:
        """Write chunks into the free slot, drop that slot's leftovers, then the manifest. Returns chunks."""
        p = checkpoint.partition
        previous = self.manifest(p)
        slot = "b" if previous is not None and previous.get("slot") == "a" else "a"
        data = checkpoint.data
        chunks = [data[i:i + self.chunk_bytes] for i in range(0, len(data), self.chunk_bytes)] or [b""]
        for i, chunk in enumerate(chunks):
            self.table[self._chunk_key(p, slot, i)] = chunk
        i = len(chunks)
        while self._chunk_key(p, slot, i) in self.table:  # a bigger checkpoint used this slot before
            del self.table[self._chunk_key(p, slot, i)]
            i += 1
        self.table[self._manifest_key(p)] = orjson.dumps({
            "version": CHECKPOINT_VERSION, "offset": checkpoint.offset, "slot": slot, "chunks": len(chunks),
            "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(), "written_at": time.time(),
        })
        return len(chunks)


@dataclass(slots=True)
class _Owned:
    deduplicator: Deduplicator
    next_offset: int
    checkpointed_at: float
    dirty: bool = False
    suspect: bool = False


class PartitionedDeduplicator:
    """One `Deduplicator` per input partition, checkpointed and restored through a `CheckpointStore`.

    The agent asks `needs_restore(partition, offset)` for each record. True when the partition is
    new to this process, or when it was revoked meanwhile and the stream resumed past where this
    process stopped (another worker moved it on). Then `restore()` gives the checkpoint's
    deduplicator and the offset to catch up from, the agent re-checks the records in between and
    calls `adopt()`. After each record: `processed()`, and `checkpoint_due()` / `checkpoint()`.
    """

    def __init__(self, make: Callable[[], Deduplicator], store: CheckpointStore, interval_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.make = make
        self.store = store
        self.interval_s = interval_s
        self.clock = clock
        self._owned: dict[int, _Owned] = {}

    def get(self, partition: int) -> Deduplicator | None:
        owned = self._owned.get(partition)
        return owned.deduplicator if owned else None

    def needs_restore(self, partition: int, offset: int) -> bool:
        owned = self._owned.get(partition)
        if owned is None:
            return True
        if owned.suspect:
            owned.suspect = False
            return offset > owned.next_offset
        return False

    def revoked(self, partitions: set[int]) -> None:
        """Partitions taken away in a rebalance: their state may be moved on by another worker."""
        for p in partitions:
            if p in self._owned:
                self._owned[p].suspect = True

    def restore(self, partition: int) -> tuple[Deduplicator, int | None]:
        """The latest checkpointed state (or a fresh one) and the offset it covers (None: no checkpoint)."""
        checkpoint = self.store.load(partition)
        if checkpoint is None:
            return self.make(), None
        try:
            return Deduplicator.restore(checkpoint.data), checkpoint.offset
        except Exception as exc:  # a checkpoint from an incompatible version: rebuild instead
            log.warning("dedup checkpoint of partition %d unreadable (%s); rebuilding", partition, exc)
            return self.make(), None

    def adopt(self, partition: int, deduplicator: Deduplicator, next_offset: int) -> None:
        self._owned[partition] = _Owned(deduplicator, next_offset, self.clock())

    def processed(self, partition: int, offset: int) -> None:
        owned = self._owned[partition]
        owned.next_offset = max(owned.next_offset, offset + 1)
        owned.dirty = True

    def checkpoint_due(self, partition: int) -> bool:
        owned = self._owned.get(partition)
        return bool(owned and owned.dirty and self.clock() - owned.checkpointed_at >= self.interval_s)

    def snapshot(self, partition: int) -> Checkpoint:
        """The state as bytes (CPU work: run it where the stage cores run)."""
        owned = self._owned[partition]
        return Checkpoint(partition, owned.next_offset, owned.deduplicator.snapshot())

    def save(self, checkpoint: Checkpoint) -> int:
        """Write a snapshot (in the worker: inside the agent, where the table may be written)."""
        chunks = self.store.save(checkpoint)
        owned = self._owned.get(checkpoint.partition)
        if owned is not None:
            owned.checkpointed_at = self.clock()
            owned.dirty = owned.next_offset > checkpoint.offset
        return chunks
