"""Compact numpy storage shared by the dedup indexes.

Why not dicts: a Python dict entry with an int key and a list value costs ~100-200 bytes, and the
near-duplicate index needs ~34 keys per document, which would be 4-7 KB/doc (datasketch's
in-memory LSH measured 3.6-9 KB/doc). Here a key costs 8 bytes in a flat open-addressing table
(32-bit fingerprint + 32-bit row number) and per-document data lives in numpy columns.

Two pieces:

* `HashMultiMap`: 64-bit key -> row numbers, duplicates allowed, linear probing, vectorised
  insert/lookup. Only the top 32 bits of a key are kept and the slot is derived from them, so the
  table can grow or be compacted from its own contents (no need to keep or recompute the keys).
  Two different keys with equal top bits give a spurious row; callers verify every row they
  get back, so that costs a little time and never a wrong answer.
* `TimedRows`: append-only rows (numpy columns + object columns) with an event time, a key table,
  eviction by time and compaction. Evicted rows are masked at once and physically dropped when
  they outnumber live rows, which keeps eviction O(1) amortised per row.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal, overload

import numpy as np

_EMPTY = np.uint32(0)


def fingerprint(key: int) -> int:
    """`fingerprints` for one Python int key."""
    return ((key >> 32) & 0xFFFFFFFF) or 1


def fingerprints(keys: np.ndarray | Iterable[int]) -> np.ndarray:
    """Top 32 bits of 64-bit keys, never 0 (0 marks an empty slot)."""
    k = np.asarray(keys, dtype=np.uint64)
    fp = (k >> np.uint64(32)).astype(np.uint32)
    fp[fp == _EMPTY] = np.uint32(1)
    return fp


class HashMultiMap:
    """uint32 fingerprint -> uint32 row, a multimap in two flat arrays (8 bytes per slot)."""

    MAX_LOAD = 0.75  # grow when fuller than this...
    GROW_LOAD = 0.5  # ...to a capacity that is this full (any size: slots are fp % capacity)

    def __init__(self, capacity: int = 1024) -> None:
        cap = max(16, int(capacity))
        self._fp = np.zeros(cap, dtype=np.uint32)
        self._val = np.zeros(cap, dtype=np.uint32)
        self._used = 0

    def __len__(self) -> int:
        return self._used

    @property
    def capacity(self) -> int:
        return len(self._fp)

    @property
    def nbytes(self) -> int:
        return self._fp.nbytes + self._val.nbytes

    def insert(self, fps: np.ndarray, vals: np.ndarray) -> None:
        fps = np.asarray(fps, dtype=np.uint32)
        vals = np.asarray(vals, dtype=np.uint32)
        if self._used + len(fps) > self.MAX_LOAD * self.capacity:
            old_fp, old_val = self.items()
            self._reset(int((self._used + len(fps)) / self.GROW_LOAD) + 16)
            self._place(old_fp, old_val)
        self._place(fps, vals)

    def get(self, fps: np.ndarray) -> np.ndarray:
        """All rows stored under any of `fps` (may repeat; stale rows included).

        Probes a window of `_WINDOW` slots per key in one gather instead of one numpy round per
        probe step; only keys whose run is longer than the window go round again.
        """
        fps = np.asarray(fps, dtype=np.uint32)
        cap = np.int64(self.capacity)
        start = fps.astype(np.int64) % cap
        want = fps
        found: list[np.ndarray] = []
        while start.size:
            idx = (start[:, None] + _STEPS[None, :]) % cap
            win = self._fp[idx]
            empty = win == _EMPTY
            has_end = empty.any(axis=1)
            end = np.where(has_end, empty.argmax(axis=1), _WINDOW)
            hit = (win == want[:, None]) & (_STEPS[None, :] < end[:, None])
            if hit.any():
                found.append(self._val[idx[hit]])
            more = ~has_end
            start = (start[more] + _WINDOW) % cap
            want = want[more]
        if not found:
            return np.zeros(0, dtype=np.uint32)
        return np.concatenate(found)

    def get_one(self, fp: int) -> list[int]:
        """Rows stored under one fingerprint: a plain-Python probe, faster than numpy for one key."""
        fparr, valarr = self._fp, self._val
        cap = len(fparr)
        pos = fp % cap
        out = []
        while True:
            f = int(fparr[pos])
            if f == 0:
                return out
            if f == fp:
                out.append(int(valarr[pos]))
            pos = pos + 1 if pos + 1 < cap else 0

    def insert_one(self, fp: int, val: int) -> None:
        if self._used + 1 > self.MAX_LOAD * self.capacity:
            self.insert(np.array([fp], dtype=np.uint32), np.array([val], dtype=np.uint32))
            return
        fparr = self._fp
        cap = len(fparr)
        pos = fp % cap
        while fparr[pos] != 0:
            pos = pos + 1 if pos + 1 < cap else 0
        fparr[pos] = fp
        self._val[pos] = val
        self._used += 1

    def items(self) -> tuple[np.ndarray, np.ndarray]:
        occ = self._fp != _EMPTY
        return self._fp[occ].copy(), self._val[occ].copy()

    def rebuild(self, fps: np.ndarray, vals: np.ndarray) -> None:
        """Replace the contents (used after compaction, with renumbered rows)."""
        self._reset(int(len(fps) / self.GROW_LOAD) + 16)
        self._place(np.asarray(fps, dtype=np.uint32), np.asarray(vals, dtype=np.uint32))

    def _reset(self, capacity: int) -> None:
        cap = max(16, int(capacity))
        self._fp = np.zeros(cap, dtype=np.uint32)
        self._val = np.zeros(cap, dtype=np.uint32)
        self._used = 0

    def _place(self, fps: np.ndarray, vals: np.ndarray) -> None:
        """Vectorised linear-probing insert: each pending key takes the first free slot of the
        window after its home slot; one key wins each contested slot, the others look again.
        A key whose whole window is full moves its window on (every slot it skips is taken, so
        a lookup scanning from home to the first empty slot still finds it)."""
        if not len(fps):
            return
        cap = np.int64(self.capacity)
        start = fps.astype(np.int64) % cap
        pending = np.arange(len(fps))
        placed = np.zeros(len(fps), dtype=bool)
        while pending.size:
            idx = (start[pending][:, None] + _STEPS[None, :]) % cap
            empty = self._fp[idx] == _EMPTY
            has = empty.any(axis=1)
            jump = pending[~has]
            start[jump] = (start[jump] + _WINDOW) % cap
            if has.any():
                who = pending[has]
                slot = idx[has, empty[has].argmax(axis=1)]
                if len(set(slot.tolist())) == slot.size:  # the usual case: no two keys want one slot
                    self._fp[slot] = fps[who]
                    self._val[slot] = vals[who]
                    placed[who] = True
                else:
                    slot_u, first = np.unique(slot, return_index=True)
                    won = who[first]
                    self._fp[slot_u] = fps[won]
                    self._val[slot_u] = vals[won]
                    placed[won] = True
                pending = pending[~placed[pending]]
        self._used += len(fps)


_WINDOW = 32
_STEPS = np.arange(_WINDOW, dtype=np.int64)


class TimedRows:
    """Rows with an event time, numpy columns, object columns and a key table.

    `numeric` maps a column name to (dtype, trailing shape); `objects` names columns of Python
    objects (strings: ids and story ids, which are shared references, not copies).
    """

    def __init__(self, numeric: dict[str, tuple[Any, tuple[int, ...]]], objects: tuple[str, ...]) -> None:
        self._spec = numeric
        self._cap = 256
        self.n = 0  # rows used (live + dead)
        self.n_alive = 0
        self.time = np.zeros(self._cap, dtype=np.float64)
        self.alive = np.zeros(self._cap, dtype=bool)
        self.cols = {name: np.zeros((self._cap, *shape), dtype=dt) for name, (dt, shape) in numeric.items()}
        self.objs: dict[str, list[Any]] = {name: [] for name in objects}
        self.table = HashMultiMap()

    def append(self, t: float, fps: np.ndarray | int, objs: dict[str, Any], **nums: Any) -> int:
        """Add a row under key fingerprint(s) `fps` (an array, or one int); returns its number."""
        if self.n == self._cap:
            self._resize(self._cap + self._cap // 2)
        row = self.n
        self.time[row] = t
        self.alive[row] = True
        for name, value in nums.items():
            self.cols[name][row] = value
        for name, col in self.objs.items():
            col.append(objs.get(name))
        self.n += 1
        self.n_alive += 1
        if isinstance(fps, int):
            self.table.insert_one(fps, row)
        elif len(fps):
            self.table.insert(fps, np.full(len(fps), row, dtype=np.uint32))
        return row

    def add_keys(self, row: int, fps: np.ndarray) -> None:
        """Index an existing row under more keys (a story whose top terms changed)."""
        if len(fps):
            self.table.insert(fps, np.full(len(fps), row, dtype=np.uint32))

    def rows_for_one(self, fp: int) -> list[int]:
        """Live rows under one fingerprint."""
        alive, n = self.alive, self.n
        return [r for r in self.table.get_one(fp) if r < n and alive[r]]

    @overload
    def rows_for(self, fps: np.ndarray) -> np.ndarray: ...
    @overload
    def rows_for(self, fps: np.ndarray, counts: Literal[True]) -> tuple[np.ndarray, np.ndarray]: ...

    def rows_for(self, fps: np.ndarray, counts: bool = False) -> Any:
        """Distinct live rows stored under any of the fingerprints (with `counts`: and how many
        of the fingerprints each row was found under)."""
        rows = self.table.get(fps).astype(np.int64)
        if counts:
            rows, n = np.unique(rows, return_counts=True)
        else:
            rows, n = np.unique(rows), None
        ok = rows < self.n
        ok[ok] = self.alive[rows[ok]]
        if counts:
            return rows[ok], n[ok]
        return rows[ok]

    def evict_before(self, cutoff: float) -> int:
        """Mask rows older than `cutoff`; compact when dead rows outnumber live ones."""
        old = self.alive[: self.n] & (self.time[: self.n] < cutoff)
        k = int(old.sum())
        if k:
            self.alive[: self.n][old] = False
            self.n_alive -= k
        if self.n - self.n_alive > max(1024, self.n_alive):
            self.compact()
        return k

    def compact(self) -> None:
        keep = np.flatnonzero(self.alive[: self.n])
        remap = np.full(self.n, -1, dtype=np.int64)
        remap[keep] = np.arange(keep.size)
        fps, vals = self.table.items()
        vals64 = vals.astype(np.int64)
        ok = np.zeros(vals64.size, dtype=bool)
        valid = np.flatnonzero(vals64 < self.n)
        ok[valid] = remap[vals64[valid]] >= 0
        cap = max(256, keep.size + keep.size // 4)
        self.time = _grow(self.time[keep], cap)
        self.alive = _grow(np.ones(keep.size, dtype=bool), cap)
        self.cols = {name: _grow(col[keep], cap) for name, col in self.cols.items()}
        self.objs = {name: [col[i] for i in keep] for name, col in self.objs.items()}
        self._cap = cap
        self.n = self.n_alive = int(keep.size)
        self.table.rebuild(fps[ok], remap[vals64[ok]].astype(np.uint32))

    def nbytes(self) -> int:
        """Bytes held by numpy columns and the key table (object columns not included)."""
        return (
            self.time.nbytes
            + self.alive.nbytes
            + sum(c.nbytes for c in self.cols.values())
            + self.table.nbytes
            + 8 * len(self.objs) * self._cap
        )

    def state(self) -> dict[str, Any]:
        """Live rows only, compacted: numpy arrays plus plain lists (for snapshot())."""
        self.compact()
        n = self.n
        fps, vals = self.table.items()
        return {
            "time": self.time[:n].copy(),
            "cols": {name: col[:n].copy() for name, col in self.cols.items()},
            "objs": {name: list(col) for name, col in self.objs.items()},
            "fps": fps,
            "vals": vals,
        }

    def load(self, state: dict[str, Any]) -> None:
        n = len(state["time"])
        cap = max(256, n + n // 4)
        self._cap = cap
        self.n = self.n_alive = n
        self.time = _grow(np.asarray(state["time"], dtype=np.float64), cap)
        self.alive = _grow(np.ones(n, dtype=bool), cap)
        self.cols = {
            name: _grow(np.asarray(state["cols"][name], dtype=dt).reshape((n, *shape)), cap)
            for name, (dt, shape) in self._spec.items()
        }
        self.objs = {name: list(state["objs"][name]) for name in self.objs}
        self.table.rebuild(np.asarray(state["fps"], dtype=np.uint32), np.asarray(state["vals"], dtype=np.uint32))

    def _resize(self, cap: int) -> None:
        self.time = _grow(self.time[: self.n], cap)
        self.alive = _grow(self.alive[: self.n], cap)
        self.cols = {name: _grow(col[: self.n], cap) for name, col in self.cols.items()}
        self._cap = cap


def _grow(a: np.ndarray, cap: int) -> np.ndarray:
    out = np.zeros((cap, *a.shape[1:]), dtype=a.dtype)
    out[: len(a)] = a
    return out


class RowIndex:
    """An index kept in one `TimedRows` (`self._rows`): eviction, size and state come from the rows."""

    _rows: TimedRows

    def evict_before(self, cutoff: float) -> int:
        return self._rows.evict_before(cutoff)

    def nbytes(self) -> int:
        return self._rows.nbytes()

    def state(self) -> dict[str, Any]:
        return self._rows.state()

    def load(self, state: dict[str, Any]) -> None:
        self._rows.load(state)
