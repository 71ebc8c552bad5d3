"""Bytes → text for feeds, sitemaps and pages, and what the document said about its charset.

Why our own chain instead of trusting one declaration: servers and publishers get charsets
wrong all the time (a `charset=utf-8` header on a Latin-1 feed, an Apache default of
ISO-8859-1 on UTF-8 pages, no declaration at all). Order: byte-order mark; then what the HTTP
header, the XML declaration or `<meta charset>` says, each tried strictly; UTF-8; and last a
statistical guess (charset-normalizer). Text that was valid UTF-8 wins over a declared single-byte
charset. The result records the declared and the used charset, so mismatches stay visible.
"""

from __future__ import annotations

import codecs
import contextlib
import re
from dataclasses import dataclass

import charset_normalizer

from services.fetcher.errors import FetchFailure

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16: its BOM starts with the UTF-16 LE one
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:\-]+)["']""")
_XML_DECL_TEXT = re.compile(r"""^(\ufeff?\s*<\?xml[^>]*?encoding\s*=\s*["'])([A-Za-z0-9._:\-]+)(["'])""")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.IGNORECASE)
_HTTP_CHARSET = re.compile(r"""charset\s*=\s*["']?([^;"'\s]+)""", re.IGNORECASE)

# What browsers (WHATWG Encoding) actually use for these labels: supersets, so nothing is lost.
_SUPERSETS = {
    "latin-1": "cp1252", "iso8859-1": "cp1252", "ascii": "cp1252",
    "iso8859-9": "cp1254", "tis-620": "cp874", "iso8859-11": "cp874",
    "gb2312": "gb18030", "gbk": "gb18030", "shift_jis": "cp932", "euc_kr": "cp949",
    "big5": "big5hkscs",
}
_SINGLE_BYTE_PREFIXES = ("cp12", "iso8859", "latin", "koi8", "mac", "cp8", "tis", "ascii")


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str
    encoding: str  # the Python codec used
    source: str  # "bom" | "http" | "xml" | "meta" | "utf-8" | "detected"
    declared: str | None  # the first charset the header or document declared, as written

    @property
    def mismatch(self) -> bool:
        """A charset was declared but was not the one that decoded the document."""
        if not self.declared:
            return False
        used = codec_name(self.declared)
        return used is None or self.source not in ("http", "xml", "meta") or used != self.encoding


def codec_name(label: str) -> str | None:
    """Python codec for a charset label, widened to the browser's superset; None if unknown."""
    try:
        name = codecs.lookup(label.strip().strip("\"'")).name
    except (LookupError, ValueError):
        return None
    return _SUPERSETS.get(name, name)


def http_charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    found = _HTTP_CHARSET.search(content_type)
    return found.group(1) if found else None


def declared_charsets(data: bytes, http: str | None, kind: str) -> list[tuple[str, str]]:
    """(source, label) pairs in the order they are tried."""
    out: list[tuple[str, str]] = []
    if http:
        out.append(("http", http))
    head = data[:8192]
    xml = _XML_DECL.search(head[:1024])
    if xml:
        out.append(("xml", xml.group(1).decode("ascii")))
    if kind == "html":
        meta = _META_CHARSET.search(head)
        if meta:
            out.append(("meta", meta.group(1).decode("ascii", "replace")))
    return out


def decode_document(data: bytes, *, http: str | None = None, kind: str = "html",
                    url: str | None = None) -> Decoded:
    """Decode `data` (kind: "xml", "html" or "text"); raise `bad_encoding` when nothing fits."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return Decoded(data[len(bom):].decode(encoding), encoding, "bom", encoding)
            except UnicodeDecodeError as exc:
                raise FetchFailure(
                    "bad_encoding", f"byte-order mark says {encoding}, but the bytes are not: {exc}", url=url
                ) from exc
    declared = declared_charsets(data, http, kind)
    first_declared = declared[0][1] if declared else None
    utf8: str | None = None
    with contextlib.suppress(UnicodeDecodeError):
        utf8 = data.decode("utf-8")
    for source, label in declared:
        encoding = codec_name(label)
        if encoding is None:
            continue
        if utf8 is not None and not utf8.isascii() and _single_byte(encoding) and encoding != "utf-8":
            # valid multi-byte UTF-8 is almost never Latin-1 text by accident: the label is wrong
            return Decoded(utf8, "utf-8", "utf-8", first_declared)
        try:
            return Decoded(data.decode(encoding), encoding, source, first_declared)
        except UnicodeDecodeError:
            continue
    if utf8 is not None:
        return Decoded(utf8, "utf-8", "utf-8", first_declared)
    guess = guess_encoding(data)
    if guess is None:
        raise FetchFailure(
            "bad_encoding",
            f"not decodable as {first_declared or 'UTF-8'} and no charset could be detected",
            url=url, detail={"declared": first_declared},
        )
    try:
        return Decoded(data.decode(guess), guess, "detected", first_declared)
    except UnicodeDecodeError as exc:
        raise FetchFailure("bad_encoding", f"detected {guess} does not decode: {exc}", url=url) from exc


def guess_encoding(data: bytes) -> str | None:
    """charset-normalizer's best guess, preferring windows-1252 when it is as good (it is the web's)."""
    matches = charset_normalizer.from_bytes(data[:65536])
    best = matches.best()
    if best is None:
        return None
    for match in matches:  # could_be_from_charset: encodings that decode these bytes identically
        candidates = {match.encoding, *match.could_be_from_charset}
        if candidates & {"cp1252", "latin_1"} and match.chaos <= best.chaos + 0.01:
            return "cp1252"
    return codec_name(best.encoding) or best.encoding


def xml_as_utf8(text: str) -> bytes:
    """Decoded XML as UTF-8 bytes whose declaration says so (parsers re-read the declaration)."""
    return _XML_DECL_TEXT.sub(r"\1utf-8\3", text.lstrip("\ufeff"), count=1).encode("utf-8", "surrogatepass")


def _single_byte(encoding: str) -> bool:
    return encoding.replace("-", "").replace("_", "").startswith(
        tuple(p.replace("-", "").replace("_", "") for p in _SINGLE_BYTE_PREFIXES)
    )
