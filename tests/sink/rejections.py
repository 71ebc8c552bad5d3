"""Documents the cleaner refuses, one per reject reason (synthetic, built like the cleaner tests' pages)."""

from __future__ import annotations

import json

from tests.cleaner.builders import PARAGRAPHS, make_page

_LD = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": "Council approves tram extension",
       "isAccessibleForFree": False}
_TEASERS = "".join(
    f'<div class="teaser"><h3><a href="/news/{i}">Headline number {i} of the day in the city</a></h3>'
    f"<p>Short teaser text {i}.</p></div>"
    for i in range(14)
)

# file name -> (content, the reason the cleaner gives)
REJECTED: dict[str, tuple[str, str]] = {
    "blank.txt": ("   \n\t  \n", "empty"),
    "short.txt": ("Council approves the tram extension.", "too_short"),
    "paywalled.html": (make_page(paragraphs=PARAGRAPHS[:2], jsonld=_LD), "paywalled"),
    "shell.html": (
        "<html><head><title>App</title></head><body><noscript>You need to enable JavaScript to run this app."
        '</noscript><div id="root"></div><script src="/static/js/main.js"></script></body></html>',
        "needs_js",
    ),
    "listing.html": (
        '<html><head><title>News</title><script type="application/ld+json">'
        + json.dumps({"@type": "CollectionPage", "name": "Latest news"})
        + f"</script></head><body><main>{_TEASERS}</main></body></html>",
        "not_an_article",
    ),
}
