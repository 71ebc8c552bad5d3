from services.ledger import Ledger


def test_plain_ids_and_redelivery() -> None:
    ledger = Ledger.of(["a", "b"])
    assert ledger.pending == {"a", "b"}
    assert ledger.observe("news.enriched", {"id": "a"})
    assert not ledger.observe("news.enriched", {"id": "other"})
    assert ledger.pending == {"b"}
    ledger.observe("news.dlq", {"id": "b", "reason": "empty"})
    ledger.observe("news.enriched", {"id": "a"})
    assert not ledger.pending and ledger.redelivered == 1


def test_split_document_done_when_every_part_arrived() -> None:
    ledger = Ledger.of(["p"])
    ledger.observe("news.enriched", {"id": "c0", "parent_id": "p", "part_count": 3, "position": 0})
    ledger.observe("news.duplicates", {"id": "c2", "parent_id": "p", "part_count": 3, "position": 2})
    assert ledger.pending == {"p"}
    ledger.observe("news.dlq", {"id": "c1", "parent_id": "p", "part_count": 3})
    assert not ledger.pending
    assert next(a.record["id"] for a in ledger.results("p")) == "c0"
