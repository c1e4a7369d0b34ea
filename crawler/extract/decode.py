"""Bytes to text the way a browser would read a Space Media Network page.

The classic pages declare ISO-8859-1 but carry windows-1252 bytes (curly quotes as 0x93/0x94),
and some carry UTF-8 under that declaration. Browsers decode ISO-8859-1 as windows-1252
(WHATWG Encoding Standard); UTF-8 is kept as UTF-8 because windows-1252 text almost never
forms valid multi-byte UTF-8 sequences. Pages that mix the two (UTF-8 text with a few
windows-1252 bytes pasted in) are read sequence by sequence: valid UTF-8 as UTF-8, every
other byte as windows-1252, so neither half comes out garbled.
"""

from __future__ import annotations

import codecs
import re
import threading

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


_mixed = threading.local()


def _utf8_or_cp1252(err: UnicodeError) -> tuple[str, int]:
    # A byte that is no part of a valid UTF-8 sequence is read as windows-1252.
    if not isinstance(err, UnicodeDecodeError):
        raise err
    _mixed.bytes = getattr(_mixed, "bytes", 0) + err.end - err.start
    bad = err.object[err.start : err.end]
    return bad.decode("cp1252", "smn-cp1252"), err.end


codecs.register_error("smn-utf8-or-cp1252", _utf8_or_cp1252)

_HIGH_BYTES = bytes(range(0x80, 0x100))


def _decode_mixed(body: bytes) -> tuple[str, int]:
    """``body`` read as UTF-8, every invalid byte as windows-1252; and how many those were."""
    _mixed.bytes = 0
    text = body.decode("utf-8", "smn-utf8-or-cp1252")
    return text, _mixed.bytes


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


def decode_html(body: bytes | str, content_type: str | None = None) -> str:
    """Decode a page to text: honour the declared charset, with the browsers' exceptions."""
    if isinstance(body, str):
        return body
    if body.startswith(codecs.BOM_UTF8):
        return body[3:].decode("utf-8", "smn-utf8-or-cp1252")
    if body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return body.decode("utf-16", "replace")
    charset = declared_charset(body, content_type)
    if charset is None or charset == "utf-8":
        # Undeclared, or UTF-8: invalid bytes are windows-1252 (the network's old pages).
        return body.decode("utf-8", "smn-utf8-or-cp1252")
    if charset == "cp1252":
        if body.isascii():
            return body.decode("ascii")
        text, cp1252_bytes = _decode_mixed(body)
        high = len(body) - len(body.translate(None, _HIGH_BYTES))
        if (high - cp1252_bytes) * 2 >= high:
            return text  # most non-ASCII bytes are valid UTF-8: UTF-8 under a Latin-1 label
        return body.decode("cp1252", "smn-cp1252")
    try:
        return body.decode(charset, "replace")
    except (LookupError, UnicodeError):
        return body.decode("cp1252", "smn-cp1252")
