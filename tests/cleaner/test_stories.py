from services.cleaner.document import Block
from services.cleaner.headlines import first_sentence, short_title
from services.cleaner.stories import split_stories

BODY = (
    "Officials confirmed on Monday that the agreement had been signed after months of talks, "
    "and said the first measures would take effect within weeks."
)


def test_separated_summaries_are_split() -> None:
    blocks = [Block(BODY), Block("Read More", "break")] * 3
    stories = split_stories(blocks)
    assert stories is not None and len(stories) == 3
    assert not stories[0].titled
    assert stories[0].title.startswith("Officials confirmed on Monday")


def test_headlined_sections_are_split() -> None:
    blocks = []
    for head in (
        "Harbour Reopens After Storm Repairs",
        "New Science Museum Wing Unveiled",
        "Rail Strike Called Off",
    ):
        blocks += [Block(head), Block(BODY), Block(BODY)]
    stories = split_stories(blocks)
    assert stories is not None
    assert [s.title for s in stories] == [
        "Harbour Reopens After Storm Repairs",
        "New Science Museum Wing Unveiled",
        "Rail Strike Called Off",
    ]
    assert all(s.titled and len(s.blocks) == 2 for s in stories)


def test_article_with_subheads_is_not_split() -> None:
    blocks = [Block(BODY)] * 4 + [Block("Context"), Block(BODY), Block(BODY), Block("What next"), Block(BODY)]
    assert split_stories(blocks) is None


def test_long_sections_are_not_stories() -> None:
    blocks = []
    for head in (
        "The Background To The Dispute",
        "How The Deal Came Together",
        "What Happens Next For Both Sides",
    ):
        blocks += [Block(head)] + [Block(BODY)] * 9
    assert split_stories(blocks) is None


def test_single_break_does_not_split() -> None:
    assert split_stories([Block(BODY), Block("Read More", "break"), Block(BODY)]) is None


def test_titles_from_sentences() -> None:
    assert first_sentence("The U.S. and Mr. Smith met in Jan. 2020. Then they left.") == (
        "The U.S. and Mr. Smith met in Jan. 2020."
    )
    long = (
        "NATO's Secretary General voiced concern over a possible deployment of weapons in orbit, "
        "a move that experts said could threaten satellites used for navigation."
    )
    title = short_title(long)
    assert title == "NATO's Secretary General voiced concern over a possible deployment of weapons in orbit"
    assert len(short_title("word " * 60)) <= 111


def test_interview_questions_are_not_stories() -> None:
    blocks = []
    for question in (
        "What made you start the company?",
        "How did the first year go?",
        "What comes next for you?",
    ):
        blocks += [Block(question), Block(BODY)]
    assert split_stories(blocks) is None
