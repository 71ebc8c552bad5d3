"""Language identification: synthetic texts of our own, no shared data needed."""

from __future__ import annotations

import numpy as np
import pytest
from py3langid.langid import MODEL_FILE
from py3langid.langid import LanguageIdentifier as LangidModel

from services.tagger.language import UND, LanguageIdentifier, _encode, _spread_order

SAMPLES = {
    "en": "The city council approved the new budget on Tuesday after a long debate about schools.",
    "de": "Der Stadtrat hat am Dienstag nach einer langen Debatte den neuen Haushalt beschlossen.",
    "fr": "Le conseil municipal a adopté mardi le nouveau budget après un long débat sur les écoles.",
    "es": "El ayuntamiento aprobó el martes el nuevo presupuesto tras un largo debate sobre las escuelas.",
    "it": "Il consiglio comunale ha approvato martedì il nuovo bilancio dopo un lungo dibattito.",
    "nl": "De gemeenteraad heeft dinsdag na een lang debat de nieuwe begroting goedgekeurd.",
    "pl": "Rada miasta zatwierdziła we wtorek nowy budżet po długiej debacie o szkołach.",
    "ru": "Городской совет во вторник утвердил новый бюджет после долгих дебатов о школах.",
    "uk": "Міська рада у вівторок затвердила новий бюджет після тривалих дебатів про школи.",
    "sv": "Kommunfullmäktige godkände på tisdagen den nya budgeten efter en lång debatt om skolorna.",
    "nb": "Bystyret vedtok tirsdag det nye budsjettet etter en lang debatt om skolene i byen.",
    "el": "Το δημοτικό συμβούλιο ενέκρινε την Τρίτη τον νέο προϋπολογισμό μετά από μακρά συζήτηση.",
    "ja": "市議会は火曜日、学校についての長い議論の末に新しい予算を承認した。",
    "zh": "市议会周二在关于学校的长时间辩论后批准了新的预算。",
    "ko": "시의회는 화요일 학교에 관한 긴 토론 끝에 새 예산을 승인했다.",
    "ar": "وافق مجلس المدينة يوم الثلاثاء على الميزانية الجديدة بعد نقاش طويل حول المدارس.",
    "hi": "नगर परिषद ने मंगलवार को स्कूलों पर लंबी बहस के बाद नया बजट मंजूर किया।",
    "tr": "Belediye meclisi salı günü okullar hakkındaki uzun bir tartışmanın ardından yeni bütçeyi onayladı.",
}


@pytest.mark.parametrize(("lang", "text"), sorted(SAMPLES.items()))
def test_identifies_sentences(identifier: LanguageIdentifier, lang: str, text: str) -> None:
    guess = identifier.identify(text)
    assert guess.lang == lang
    assert 0.5 < guess.confidence <= 1.0
    assert guess.mixed is False


def test_norwegian_is_reported_as_nb(identifier: LanguageIdentifier) -> None:
    assert "nb" in identifier.labels and "no" not in identifier.labels


@pytest.mark.parametrize("text", ["", "   ", "\n\n", "12 345 67", "!!! ??? ...", "ab", "😀😀😀", "\x00\x01"])
def test_too_little_text_is_und(identifier: LanguageIdentifier, text: str) -> None:
    guess = identifier.identify(text)
    assert guess.lang == UND
    assert guess.confidence == 0.0
    assert identifier(text) is None  # the scorer adapter's "no answer"


def test_title_counts(identifier: LanguageIdentifier) -> None:
    assert identifier.identify("", title=SAMPLES["de"]).lang == "de"


def test_mixed_language_flag(identifier: LanguageIdentifier) -> None:
    english = [
        "The regional government presented its plan for public transport on Monday morning.",
        "Officials said the new tram line would connect the northern suburbs with the centre.",
        "Construction is expected to start next spring and to last about three years.",
    ]
    german = [
        "Die Landesregierung hat am Montag ihren Plan für den öffentlichen Nahverkehr vorgestellt.",
        "Nach Angaben der Behörden soll die neue Straßenbahn die nördlichen Vororte anbinden.",
    ]
    pure = identifier.identify("\n\n".join(english))
    mixed = identifier.identify("\n\n".join([english[0], german[0], english[1], german[1], english[2]]))
    assert pure.lang == "en" and not pure.mixed
    assert mixed.lang in {"en", "de"} and mixed.mixed


def test_batch_equals_single(identifier: LanguageIdentifier) -> None:
    docs = [(None, text) for text in SAMPLES.values()] + [(None, ""), ("Titel", None)]
    batch = identifier.identify_many(docs)
    single = [identifier.identify(text, title) for title, text in docs]
    assert batch == single


def test_scores_match_py3langid(identifier: LanguageIdentifier) -> None:
    """The vectorised feature walk reproduces py3langid's naive-Bayes scores."""
    reference = LangidModel.from_model_file(MODEL_FILE, norm_probs=True)
    reference.set_languages([{"nb": "no"}.get(c, c) for c in identifier.labels])
    texts = [*SAMPLES.values(), "aaaa bbbb aaaa bbbb", "x" * 3000, "ÆØÅ æøå — “quotes” ½ № ∑"]
    segments = [_encode(t, 10_000) for t in texts]
    ours = identifier._segment_scores(segments) + identifier._pc
    ref = np.array([reference._raw_score(reference._encode(t)) for t in texts])
    np.testing.assert_allclose(ours, ref, rtol=1e-3, atol=2e-2)


def test_unknown_language_code_is_rejected() -> None:
    with pytest.raises(ValueError, match="no model"):
        LanguageIdentifier(["en", "xx-not-a-language"])


def test_spread_order_visits_every_paragraph_once() -> None:
    for n in range(30):
        order = list(_spread_order(n))
        assert sorted(order) == list(range(n))
        assert order[: min(n, 2)] == ([0, n - 1] if n > 1 else list(range(n)))


def test_encode_cuts_on_character_boundary() -> None:
    data = _encode("é" * 100, 51)
    assert len(data) == 50 and data.decode("utf-8") == "é" * 25
    assert _encode("HELLO WORLD", 100) == b"hello world"  # all-caps lowered, as py3langid does
