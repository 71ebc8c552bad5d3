from services.cleaner.normalize import match_key, normalize_line, normalize_text, split_paragraphs


def test_nfc_and_spaces() -> None:
    text = "Cafe\u0301\u00a0 au\tlait \u200b\r\n\r\n\r\n\r\nsecond\u2028line  "
    assert normalize_text(text) == "Café au lait\n\nsecond\nline"


def test_controls_removed_and_blank_runs_collapsed() -> None:
    assert normalize_text("a\x00b\x07c\n\n\n\nd") == "abc\n\nd"


def test_normalize_line_joins() -> None:
    assert normalize_line("  one\ntwo \u00a0three ") == "one two three"


def test_split_one_paragraph_per_line() -> None:
    assert split_paragraphs("First line.\nSecond line.\n\nThird.") == [
        "First line.",
        "Second line.",
        "Third.",
    ]


def test_hard_wrapped_block_is_rejoined() -> None:
    block = (
        "The committee met on Monday to discuss the proposal and\n"
        "agreed that the changes should be introduced gradually over\n"
        "the next two years, starting with the largest cities in\n"
        "the region."
    )
    assert split_paragraphs(block) == [" ".join(block.split("\n"))]


def test_list_of_titles_is_not_rejoined() -> None:
    titles = [
        "Markets Rally After Rate Decision",
        "Storm Closes Schools Across The North",
        "New Bridge Opens",
    ]
    block = "\n".join(titles)
    assert split_paragraphs(block) == block.split("\n")


def test_match_key() -> None:
    assert match_key("NATO Weighs Steps, Rutte Says") == match_key("nato weighs steps — rutte says!")
