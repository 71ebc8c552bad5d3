from services.cleaner.document import Block
from services.cleaner.furniture import (
    is_button,
    is_call_to_action,
    is_domain_line,
    is_notice,
    is_read_more,
    is_timestamp_line,
    is_ui_junk,
    remove_furniture,
    tidy_paragraph,
)

LONG = (
    "The regional parliament approved the budget late on Thursday after a session that lasted "
    "more than eleven hours and included several votes on amendments."
)


def blocks(*texts: str) -> list[Block]:
    return [Block(t) for t in texts]


def texts(result: tuple[list[Block], list[str]]) -> list[str]:
    return [b.text for b in result[0] if b.kind != "break"]


def test_line_predicates() -> None:
    assert is_read_more("Read More") and is_read_more("Continue reading →")
    assert is_button("Help us improve.") and is_button("Share this article")
    assert is_ui_junk("date 2026-01-12 + ↺ − 16 px")
    assert is_call_to_action("Tap below to see more pictures ↓")
    assert is_call_to_action("Watch how the bridge was built ↓")
    assert is_domain_line("News.Az") and is_domain_line("www.example.co.uk")
    assert is_notice("This copy is for your personal, non-commercial use only.")
    assert is_notice("Sign up for our newsletter to get the latest updates in your inbox.")
    assert is_timestamp_line("Published 18 November 2019")
    assert not is_timestamp_line("The meeting on Nov. 19, 2019 ran for a long time and ended without a vote.")
    assert not is_read_more(LONG) and not is_button(LONG) and not is_notice(LONG)


def test_ui_line_dropped_and_its_date_kept() -> None:
    kept, dates = remove_furniture(blocks(" date 2026-01-12 + ↺ − 16 px", LONG))
    assert [b.text for b in kept] == [LONG]
    assert dates == ["2026-01-12"]


def test_read_more_becomes_a_break() -> None:
    kept, _ = remove_furniture(blocks(LONG, "Read More", LONG, "Read More"))
    assert [b.kind for b in kept] == ["para", "break", "para"]


def test_trailing_headline_list_removed() -> None:
    headlines = [
        "Storm Closes Schools Across The North",
        "Markets Rally After Central Bank Decision",
        "New Bridge Opens To Traffic After Delays",
        "Minister Resigns Over Expenses Claims",
    ]
    assert texts(remove_furniture(blocks(LONG, LONG, *headlines))) == [LONG, LONG]


def test_comment_section_cut() -> None:
    comments = ["Thanks for sharing!", "Fairy tales….", "I disagree with every word of this, " * 5]
    assert texts(remove_furniture(blocks(LONG, LONG, LONG, "More Stories from This Week", *comments))) == [
        LONG,
        LONG,
        LONG,
    ]


def test_promo_block_and_labels_removed() -> None:
    result = remove_furniture(
        blocks(
            LONG,
            "Photo of the Week",
            "Training in the Mountains",
            LONG,
            "Job of the Week",
            "Do you know how to plan logistics?",
            "Check out this vacancy at our headquarters!",
        )
    )
    assert texts(result) == [LONG, "Training in the Mountains", LONG]


def test_widget_title_in_html_mode_drops_only_the_line() -> None:
    result = remove_furniture(blocks(LONG, "Most read in world news", LONG), whole_sections=False)
    assert texts(result) == [LONG, LONG]


def test_trailing_linked_teasers_removed_in_html_mode() -> None:
    teasers = [Block(f"Other story number {i} about something", "item", 0.5) for i in range(4)]
    kept, _ = remove_furniture([Block(LONG), Block(LONG), *teasers], whole_sections=False)
    assert [b.text for b in kept] == [LONG, LONG]


def test_plain_list_in_html_mode_is_kept() -> None:
    items = [Block(f"June {i} – Some City, ST @ Some Arena", "item") for i in range(1, 6)]
    kept, _ = remove_furniture([Block(LONG), *items], whole_sections=False)
    assert len(kept) == 6


def test_tidy_paragraph() -> None:
    assert tidy_paragraph("send more troops.'[") == "send more troops."
    assert tidy_paragraph("he said 'no' [") == "he said 'no'"
    assert tidy_paragraph("A quote.Click To Tweet") == "A quote."
    assert tidy_paragraph("Nothing to do here.") == "Nothing to do here."


def test_short_related_list_after_label_removed() -> None:
    result = remove_furniture(
        blocks(
            LONG,
            LONG,
            "Related",
            "Ferry Operator Adds Night Crossings",
            "Harbour Festival Names Acts",
            "Read More",
        )
    )
    assert texts(result) == [LONG, LONG]
