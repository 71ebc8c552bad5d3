"""What each live story looks like to a consumer: the state behind a `news.stories` event.

`StoryIndex` keeps only what clustering needs (term mass, key terms). Consumers want to know
what a story *is*: its title, its members, when it was first and last seen. `StoryLog` keeps
that per live story, in the same event-time window, and `event()` renders the record that goes
to the compacted `news.stories` topic (keyed by story id, so the latest event per story wins).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from services.records import SCHEMA_VERSION

# A story event lists at most this many member ids (the first ones, in arrival order) and says
# when the list is cut; `member_count` is always exact. Why: a compacted topic re-sends the whole
# record on every change, and a long-running story can gather thousands of copies.
MAX_MEMBERS = 100


@dataclass(slots=True)
class StoryEntry:
    story_id: str
    title: str | None
    representative_id: str
    first_seen: float
    last_seen: float
    member_count: int = 0
    unique_count: int = 0
    members: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)

    def as_row(self) -> list[Any]:
        return [self.story_id, self.title, self.representative_id, self.first_seen, self.last_seen,
                self.member_count, self.unique_count, self.members, self.languages]

    @classmethod
    def from_row(cls, row: list[Any]) -> StoryEntry:
        return cls(row[0], row[1], row[2], float(row[3]), float(row[4]), int(row[5]), int(row[6]),
                   list(row[7]), list(row[8]))


class StoryLog:
    """Live stories by id: representative title, members, first/last event time, counts."""

    def __init__(self) -> None:
        self._stories: dict[str, StoryEntry] = {}

    def __len__(self) -> int:
        return len(self._stories)

    def add(self, story_id: str, doc_id: str, title: str, t: float, *, canonical: bool, lang: str | None) -> None:
        """Count one new member. The representative is the story's founding article (the one
        whose id the story carries); if it had no title, the first member with one lends it."""
        entry = self._stories.get(story_id)
        if entry is None:
            entry = self._stories[story_id] = StoryEntry(story_id, title or None, doc_id, t, t)
        elif doc_id in entry.members:  # re-checked after its verdict left the window
            return
        if entry.title is None and title:
            entry.title = title
        entry.first_seen = min(entry.first_seen, t)
        entry.last_seen = max(entry.last_seen, t)
        entry.member_count += 1
        entry.unique_count += int(canonical)
        if len(entry.members) < MAX_MEMBERS:
            entry.members.append(doc_id)
        if lang and lang not in entry.languages:
            entry.languages.append(lang)

    def event(self, story_id: str) -> dict[str, Any] | None:
        """The `news.stories` record for a live story (schemas/story.schema.json), else None."""
        entry = self._stories.get(story_id)
        if entry is None:
            return None
        return {
            "schema_version": SCHEMA_VERSION,
            "story_id": entry.story_id,
            "title": entry.title,
            "representative_id": entry.representative_id,
            "first_seen": _iso(entry.first_seen),
            "last_seen": _iso(entry.last_seen),
            "member_count": entry.member_count,
            "unique_count": entry.unique_count,
            "members": list(entry.members),
            "members_truncated": entry.member_count > len(entry.members),
            "languages": sorted(entry.languages),
        }

    def evict_before(self, cutoff: float) -> int:
        """Forget stories whose last member is older than `cutoff` (the story index closes them too)."""
        old = [sid for sid, entry in self._stories.items() if entry.last_seen < cutoff]
        for sid in old:
            del self._stories[sid]
        return len(old)

    def state(self) -> list[list[Any]]:
        return [entry.as_row() for entry in self._stories.values()]

    def load(self, rows: list[list[Any]]) -> None:
        self._stories = {row[0]: StoryEntry.from_row(row) for row in rows}


def _iso(t: float) -> str:
    try:
        return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")
    except (OverflowError, OSError, ValueError):
        return "1970-01-01T00:00:00Z"
