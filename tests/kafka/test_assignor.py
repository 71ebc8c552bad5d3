"""Partition assignment by stage cost (services/kafka/assignor.py), without a broker."""

from __future__ import annotations

from typing import Any

import faust
import pytest
from aiokafka.coordinator.protocol import ConsumerProtocolMemberMetadata

from services.app import STAGE_COST_MS
from services.kafka.assignor import deal_partitions, stage_cost_assignor
from services.kafka.topics import CLEANED, RAW, TAGGED

PARTITIONS = {RAW: 4, CLEANED: 4, TAGGED: 1, "app-__assignor-__leader": 1}


def weights(costs: dict[str, float]) -> dict[tuple[str, int], float]:
    return {(t, p): costs.get(t, 0.0) / n for t, n in PARTITIONS.items() for p in range(n)}


def everyone(members: list[str]) -> dict[str, list[str]]:
    return {m: list(PARTITIONS) for m in members}


def load(assignment: dict[str, list[int]]) -> float:
    return sum(STAGE_COST_MS.get(t, 0.0) / PARTITIONS[t] * len(ps) for t, ps in assignment.items())


def test_one_worker_takes_everything() -> None:
    dealt = deal_partitions(weights(STAGE_COST_MS), everyone(["a"]))
    assert dealt == {"a": {t: list(range(n)) for t, n in PARTITIONS.items()}}


def test_two_workers_the_dedup_owner_takes_no_tag_work() -> None:
    dealt = deal_partitions(weights(STAGE_COST_MS), everyone(["a", "b"]))
    owner = next(m for m, a in dealt.items() if TAGGED in a)
    other = "b" if owner == "a" else "a"
    assert len(dealt[owner][RAW]) == len(dealt[other][RAW]) == 2
    assert CLEANED not in dealt[owner]
    assert dealt[other][CLEANED] == [0, 1, 2, 3]
    # against faust's equal split: the heavier worker carries less
    faust_split = load({RAW: [0, 1], CLEANED: [0, 1], TAGGED: [0]})
    assert max(load(a) for a in dealt.values()) < faust_split


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 9])
def test_every_partition_once_and_loads_close(n: int) -> None:
    members = [f"m{i}" for i in range(n)]
    dealt = deal_partitions(weights(STAGE_COST_MS), everyone(members))
    owned = [(t, p) for a in dealt.values() for t, ps in a.items() for p in ps]
    assert sorted(owned) == sorted(weights(STAGE_COST_MS))
    loads = [load(a) for a in dealt.values()]
    heaviest = max(STAGE_COST_MS[t] / PARTITIONS[t] for t in STAGE_COST_MS)
    assert max(loads) - min(loads) <= heaviest + 1e-9  # LPT: never more than one item apart


def test_ties_go_to_the_previous_owner() -> None:
    w = weights(STAGE_COST_MS)
    first = deal_partitions(w, everyone(["a", "b"]))
    previous = {(t, p): m for m, a in first.items() for t, ps in a.items() for p in ps}
    # member ids change on every rejoin; the layout follows the previous owners
    renamed = {"a": "z", "b": "c"}
    again = deal_partitions(w, everyone(["z", "c"]), {k: renamed[m] for k, m in previous.items()})
    assert again == {renamed[m]: a for m, a in first.items()}


def test_only_subscribers_get_a_topic() -> None:
    subs = {"a": [RAW], "b": [RAW, CLEANED, TAGGED]}
    dealt = deal_partitions(weights(STAGE_COST_MS), subs)
    assert set(dealt["a"]) == {RAW}
    assert set(dealt["b"]) >= {CLEANED, TAGGED}


class Cluster:
    def partitions_for_topic(self, topic: str) -> set[int] | None:
        return set(range(PARTITIONS[topic])) if topic in PARTITIONS else None


def faust_app(guarantee: str) -> faust.App:
    return faust.App("assignor-test", processing_guarantee=guarantee,
                     PartitionAssignor=stage_cost_assignor(STAGE_COST_MS))


def assign(app: faust.App, members: list[str]) -> dict[str, Any]:
    assignor = app.assignor
    metadata = {m: ConsumerProtocolMemberMetadata(assignor.version, list(PARTITIONS), assignor._metadata.dumps())
                for m in members}
    return assignor.assign(Cluster(), metadata)


def test_faust_accepts_the_assignment() -> None:
    app = faust_app("at_least_once")
    result = assign(app, ["a", "b"])
    owned = {m: dict(a.assignment) for m, a in result.items()}
    assert sum(len(a.get(TAGGED, [])) for a in owned.values()) == 1
    owner = next(m for m, a in owned.items() if a.get(TAGGED))
    assert not owned[owner].get(CLEANED)
    for member_assignment in result.values():
        app.assignor.on_assignment(member_assignment)  # faust checks its metadata against the protocol's
        assert app.assignor.group_for_topic(RAW) == app.assignor.group_for_topic(CLEANED)


def test_exactly_once_keeps_faust_copartitioning() -> None:
    """Faust's transactional ids assume news.raw p and news.cleaned p on one worker."""
    result = assign(faust_app("exactly_once"), ["a", "b"])
    for member_assignment in result.values():
        owned = dict(member_assignment.assignment)
        assert owned.get(RAW) == owned.get(CLEANED)
