"""Bytes to text the way a browser would read a Space Media Network page.

The classic pages declare ISO-8859-1 but carry windows-1252 bytes (curly quotes as 0x93/0x94),
and some carry UTF-8 under that declaration. Browsers decode ISO-8859-1 as windows-1252
(WHATWG Encoding Standard); UTF-8 that decodes cleanly is kept as UTF-8 because windows-1252
text almost never forms valid multi-byte UTF-8 sequences.
"""

from __future__ import annotations

import codecs
import re

_META_CHARSET = re.compile(
    rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.IGNORECASE
)
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9_\-.]+)""")
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_\-:.]+)", re.IGNORECASE)

# Labels browsers treat as windows-1252 (WHATWG), beyond the ones Python already maps there.
_AS_CP1252 = frozenset(
    {
        "iso-8859-1",
        "iso8859-1",
        "latin-1",
        "latin1",
        "l1",
        "ascii",
        "us-ascii",
        "cp819",
        "iso-ir-100",
        "iso_8859-1",
        "windows-1252",
        "cp1252",
        "x-cp1252",
        "ansi_x3.4-1968",
    }
)

# The five byte values windows-1252 leaves undefined; browsers map them to C1 controls.
_CP1252_HOLES = {0x81: "\x81", 0x8D: "\x8d", 0x8F: "\x8f", 0x90: "\x90", 0x9D: "\x9d"}


def _cp1252_fallback(err: UnicodeError) -> tuple[str, int]:
    if not isinstance(err, UnicodeDecodeError):
        raise err
    bad = err.object[err.start : err.end]
    return "".join(_CP1252_HOLES.get(b, "\ufffd") for b in bad), err.end


codecs.register_error("smn-cp1252", _cp1252_fallback)


def _normalise_label(label: str | None) -> str | None:
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    if label in _AS_CP1252:
        return "cp1252"
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def declared_charset(body: bytes, content_type: str | None = None) -> str | None:
    """The charset a page declares: HTTP header first, then BOM, XML declaration, meta tag."""
    if content_type:
        header = _HEADER_CHARSET.search(content_type)
        if header and (name := _normalise_label(header.group(1))):
            return name
    if body.startswith(codecs.BOM_UTF8):
        return "utf-8"
    head = body[:4096]
    m = _XML_DECL.match(head) or _META_CHARSET.search(head)
    if m:
        return _normalise_label(m.group(1).decode("ascii", "replace"))
    return None


def _has_multibyte_utf8(body: bytes) -> bool:
    if body.isascii():
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def decode_html(body: bytes | str, content_type: str | None = None) -> str:
    """Decode a page to text: honour the declared charset, with the browsers' exceptions."""
    if isinstance(body, str):
        return body
    if body.startswith(codecs.BOM_UTF8):
        return body[3:].decode("utf-8", "replace")
    if body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return body.decode("utf-16", "replace")
    charset = declared_charset(body, content_type)
    if charset in (None, "cp1252", "utf-8") and _has_multibyte_utf8(body):
        return body.decode("utf-8")
    if charset is None or charset == "utf-8":
        # Undeclared, or UTF-8 declared but not valid: the network's pages are windows-1252.
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            return body.decode("cp1252", "smn-cp1252")
    if charset == "cp1252":
        return body.decode("cp1252", "smn-cp1252")
    try:
        return body.decode(charset, "replace")
    except (LookupError, UnicodeError):
        return body.decode("cp1252", "smn-cp1252")
