"""XML from strangers: no entity expansion, no external resources, no network.

Why both checks: feedparser drives expat, whose DTD handling we do not configure, so documents
that declare entities (billion laughs, external entities) are refused before it sees them, via
defusedxml. Sitemaps are read with an lxml parser that resolves no entities and loads no DTD.
"""

from __future__ import annotations

import re

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import fromstring as defused_fromstring
from lxml import etree

from services.fetcher.errors import FetchFailure

_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)


def refuse_entity_declarations(utf8_xml: bytes, url: str | None = None) -> None:
    """Raise `malformed_xml` if the document declares entities; well-formed or not otherwise."""
    if not _ENTITY_DECL.search(utf8_xml[:65536]):
        return  # a DTD (and its entities) must come before the root element
    try:
        defused_fromstring(utf8_xml, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except (EntitiesForbidden, ExternalReferenceForbidden, DTDForbidden) as exc:
        raise FetchFailure(
            "malformed_xml", f"XML entity declarations are refused (entity expansion): {exc}", url=url
        ) from exc
    except Exception:
        return


def safe_parser(recover: bool) -> etree.XMLParser:
    """lxml parser that resolves no entities, loads no DTD and touches no network."""
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
        huge_tree=False, recover=recover, remove_comments=True, remove_pis=True,
    )


def parse_xml(utf8_xml: bytes, url: str | None = None) -> tuple[etree._Element, bool]:
    """(root, recovered): strict parse, else a recovering one; `malformed_xml` if neither yields a root."""
    refuse_entity_declarations(utf8_xml, url)
    try:
        return etree.fromstring(utf8_xml, parser=safe_parser(recover=False)), False
    except etree.XMLSyntaxError as strict_error:
        try:
            root = etree.fromstring(utf8_xml, parser=safe_parser(recover=True))
        except etree.XMLSyntaxError:
            root = None
        if root is None:
            raise FetchFailure("malformed_xml", f"not well-formed XML: {strict_error}",
                               url=url) from strict_error
        return root, True
