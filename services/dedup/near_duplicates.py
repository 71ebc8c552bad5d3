"""Layer 2 of dedup: near-duplicates (syndicated / scraped copies) by MinHash + LSH.

Why MinHash over word 3-gram shingles: copies of one wire story keep long runs of identical
words, while two outlets writing about the same event share almost none (mean Jaccard 0.01 on
the story set), so shingle overlap separates "copy" from "same story" cleanly.

Why containment as well as Jaccard: a copy with a trailing "Related" headline list, or cut at
80 %, shares nearly all of the *shorter* text with the longer one but can have a Jaccard well
under 0.5. From the two estimated Jaccard J and the two set sizes we get the intersection
|A∩B| = J(|A|+|B|)/(1+J) and so the containment of the shorter set. Shingles are taken from the
prose lines only (see `fingerprint.prose_words`), which removes most headline/byline/list noise
before it can lower the overlap.

Why our own numpy LSH instead of datasketch's: datasketch keeps every band key in Python dicts
(3.6-9 KB per document measured); here a document costs a 128-byte signature (8-bit b-bit
MinHash values, Li & König 2010) plus 32 band keys in a flat table (8 bytes per slot), ~0.65 KB.
Band keys are made from the full 32-bit minima, so only the stored signature is truncated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from services.dedup._store import RowIndex, TimedRows, fingerprints
from services.dedup.fingerprint import mix64, prose_words, shingle_hashes

NUM_PERM = 128
BANDS = 32  # x 2 rows: P(candidate) = 1-(1-J^2)^32 -> 0.73 at J=0.2, 0.95 at J=0.3, ~1 at J>=0.4
ROWS = 2
SIG_BITS = 8
_SEED = 20260112


@dataclass(frozen=True, slots=True)
class Sketch:
    """What the index needs to know about one text: 8-bit MinHash signature, band keys and the
    number of distinct shingles (for the containment estimate)."""

    sig: np.ndarray  # uint8[NUM_PERM]
    band_fps: np.ndarray  # uint32[BANDS]
    size: int

    @property
    def empty(self) -> bool:
        return self.size == 0


@dataclass(frozen=True, slots=True)
class NearMatch:
    doc_id: str  # the indexed text that matched best
    root: str  # canonical (first-seen) id of its group
    story: str
    jaccard: float
    containment: float

    @property
    def score(self) -> float:
        """The overlap reported as `similarity`: max of Jaccard and containment."""
        return max(self.jaccard, self.containment)


class MinHasher:
    """K independent multiply-shift hash functions over 64-bit shingle hashes.

    Fixed seed: signatures must be comparable across restarts and workers.
    """

    def __init__(self, num_perm: int = NUM_PERM, bands: int = BANDS, rows: int = ROWS, seed: int = _SEED) -> None:
        if bands * rows > num_perm:
            raise ValueError("bands * rows must not exceed num_perm")
        rng = np.random.default_rng(seed)
        self.num_perm, self.bands, self.rows = num_perm, bands, rows
        self._a = rng.integers(0, 2**63, num_perm, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
        self._b = rng.integers(0, 2**63, num_perm, dtype=np.uint64)
        self._salt = rng.integers(0, 2**63, bands, dtype=np.uint64)

    def sketch(self, shingles: np.ndarray) -> Sketch:
        if not shingles.size:
            return Sketch(np.zeros(self.num_perm, np.uint8), np.zeros(0, np.uint32), 0)
        mins = np.full(self.num_perm, np.uint64(0xFFFFFFFF), dtype=np.uint64)
        with np.errstate(over="ignore"):
            for start in range(0, shingles.size, 4096):  # bound the temporary matrix for long texts
                x = shingles[start : start + 4096, None]
                h = (x * self._a[None, :] + self._b[None, :]) >> np.uint64(32)
                np.minimum(mins, h.min(axis=0), out=mins)
            band = mins[: self.bands * self.rows].reshape(self.bands, self.rows)
            acc = self._salt.copy()
            for r in range(self.rows):
                acc = mix64(acc ^ (band[:, r] + np.uint64(r) * np.uint64(0x9E3779B97F4A7C15)))
        sig = (mins & np.uint64((1 << SIG_BITS) - 1)).astype(np.uint8)
        return Sketch(sig, fingerprints(acc), int(shingles.size))


class NearDuplicateIndex(RowIndex):
    """Online near-duplicate index over a sliding event-time window.

    `threshold` is the Jaccard acceptance (settings.near_dup_threshold). A candidate is also
    accepted when the shorter text is at least `containment`-contained in the longer one and the
    Jaccard is at least `containment_min_jaccard` (the guard stops a short boilerplate paragraph
    from "containing" itself in every long article that carries the same footer).
    """

    def __init__(
        self,
        threshold: float = 0.5,
        containment: float = 0.7,
        containment_min_jaccard: float = 0.2,
        hasher: MinHasher | None = None,
    ) -> None:
        self.threshold = threshold
        self.containment = containment
        self.containment_min_jaccard = containment_min_jaccard
        self.hasher = hasher or MinHasher()
        self._rows = TimedRows(
            {"sig": (np.uint8, (self.hasher.num_perm,)), "size": (np.uint32, ())}, ("doc", "root", "story")
        )
        self._chance = 1.0 / (1 << SIG_BITS)

    def __len__(self) -> int:
        return self._rows.n_alive

    def sketch(self, text: str) -> Sketch:
        return self.hasher.sketch(shingle_hashes(prose_words(text)))

    def query(self, sk: Sketch) -> NearMatch | None:
        """Best accepted match among the LSH candidates, or None."""
        if sk.empty:
            return None
        rows = self._rows.rows_for(sk.band_fps)
        if not rows.size:
            return None
        cols = self._rows.cols
        eq = (cols["sig"][rows] == sk.sig[None, :]).mean(axis=1)
        jac = np.clip((eq - self._chance) / (1.0 - self._chance), 0.0, 1.0)
        n1 = float(sk.size)
        n2 = cols["size"][rows].astype(np.float64)
        inter = jac * (n1 + n2) / (1.0 + jac)
        con = np.clip(inter / np.maximum(1.0, np.minimum(n1, n2)), 0.0, 1.0)
        ok = (jac >= self.threshold) | ((con >= self.containment) & (jac >= self.containment_min_jaccard))
        if not ok.any():
            return None
        score = np.where(ok, np.maximum(jac, con), -1.0)
        best = int(np.argmax(score))
        row = int(rows[best])
        objs = self._rows.objs
        return NearMatch(objs["doc"][row], objs["root"][row], objs["story"][row], float(jac[best]), float(con[best]))

    def add(self, doc_id: str, root: str, story: str, sk: Sketch, t: float) -> None:
        if sk.empty:
            return
        self._rows.append(t, sk.band_fps, {"doc": doc_id, "root": root, "story": story}, sig=sk.sig, size=sk.size)
