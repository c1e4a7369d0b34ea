"""Whole pages built from parts (property-based): a headline, a header zone, a byline and a
dateline in one of their forms, a body and the boilerplate of an era, in one of several
markups (the classic layout's, or older pages' without its landmarks). Whatever the draw,
the parts must come back: headline, byline's names, place, agency, date, and the body alone
as the text."""

from __future__ import annotations

import datetime as dt
from html import escape

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.extract import extract
from crawler.extract.boilerplate import LEAK_PHRASES

FETCHED = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
URL = "http://www.spacewar.com/reports/Story_Of_The_Day.html"

HEADLINES = [
    ("Russia Delays Decision On Mir", "Russia Delays Decision On Mir"),
    (". Kenya Offers Site For Ground Station", "Kenya Offers Site For Ground Station"),
    ("'Hot Fire' Test Clears Engine For Flight", "'Hot Fire' Test Clears Engine For Flight"),
    ("China, Russia Sign Lunar Base Accord", "China, Russia Sign Lunar Base Accord"),
]
PLACES = [
    ("Moscow", "Moscow"),
    ("NAIROBI", "Nairobi"),
    ("KOUROU, French Guiana", "Kourou, French Guiana"),
    ("Perth, Australia", "Perth, Australia"),
    ("Greenbelt MD", "Greenbelt MD"),
    ("St. Petersburg FL", "St. Petersburg FL"),
    ("Ft. Worth TX", "Ft. Worth TX"),
    ("Washington D.C.", "Washington D.C."),
    ("CAPE CANAVERAL, Florida", "Cape Canaveral, Florida"),
]
BYLINES = [
    (None, []),
    ("by Staff Writers", []),
    ("by AFP Staff Writers", []),
    ("by Jane Doe and John Roe", ["Jane Doe", "John Roe"]),
    ("by Irene Brown for SpaceDaily", ["Irene Brown"]),
    ("By Jean DUPONT", ["Jean DUPONT"]),
]
MONTHS = ["Jan", "Feb.", "March", "Sept.", "Oct", "December"]
MONTH_NUMBERS = {"Jan": 1, "Feb.": 2, "March": 3, "Sept.": 9, "Oct": 10, "December": 12}
BODY = [
    "The agency said on Friday that the decision would be taken after talks with the "
    "private investors who have offered to pay for two more missions.",
    "Engineers have been firing the engines of a docked cargo ship to keep the station from "
    "sinking into the atmosphere, an official said.",
    '"Everything depends on the money," the official said, adding that a crew could fly in April.',
]
HEADER_ZONE = [
    "File Photo: the station seen from a departing shuttle.",
    "illustration only",
    '"We will not let it fall on anyone," a manager said.',
    "&#8226; Navy Orders More Radars",
    "&#8226; New Sensor Program By US AFRL",
]
BOILERPLATE = [
    "SPACE.WIRE",
    "CommunityEmail This ArticleComment On This Article",
    "Source: Agence France-Presse",
    "All rights reserved. (c) 2004 Agence France-Presse. Sections of the information "
    "displayed on this page are protected.",
    "Related Links",
    "Newsletters :: SpaceDaily :: SpaceWar :: TerraDaily",
    "XML Feeds :: Space News :: War News",
    "Comment on this article via your Facebook, Yahoo, AOL, Hotmail login.",
    "Share this article via these popular social media networks",
    "Copyright 1995-2004 - SpaceWar.AFP and UPI Wire Stories are copyright Agence "
    "France-Presse and United Press International.",
    # a teaser of another story, with its own dateline
    "<a href='/2004/040302110512.k3m9q2zd.html'>Ethiopia Buys Russian Helicopters</a><br>"
    "ADDIS ABABA (AFP) Mar 02, 2004<br>Ethiopia has bought eight transport helicopters from "
    "Russia, the defence ministry said ... <a href='/2004/x.html'>read more</a>",
    "|",
]
MARKUPS = ["classic", "p", "br", "div", "font"]


@st.composite
def pages(draw: st.DrawFn) -> tuple[bytes, dict]:
    markup = draw(st.sampled_from(MARKUPS))
    printed_title, title = draw(st.sampled_from(HEADLINES))
    printed_place, place = draw(st.sampled_from(PLACES))
    by_line, authors = draw(st.sampled_from(BYLINES))
    month = draw(st.sampled_from(MONTHS))
    day = draw(st.integers(min_value=1, max_value=28))
    year = draw(st.integers(min_value=1999, max_value=2025))
    date = dt.date(year, MONTH_NUMBERS[month], day)
    date_text = f"{month} {day:02d}, {year}" if draw(st.booleans()) else f"{month} {day}, {year}"
    agency = draw(st.sampled_from(["AFP", "UPI", "SPX", "XNA", "Interfax", None]))
    if agency is None:
        dateline = f"{printed_place} - {date_text}" + draw(st.sampled_from(["", " -"]))
    elif agency == "AFP" and draw(st.booleans()):
        dateline = f"{printed_place}, {month.rstrip('.')} {day} (AFP) {date_text}"
    else:
        dateline = f"{printed_place} ({agency}) {date_text}"
    first_on_line = draw(st.booleans())
    merged = by_line is not None and draw(st.booleans())
    kicker = draw(st.sampled_from(["SPACE WIRE", "WAR.WIRE", "WAR REPORT", None]))
    title_tag = markup != "div" or draw(st.booleans())
    zone = draw(st.lists(st.sampled_from(HEADER_ZONE), max_size=3, unique=True))
    trailer = draw(st.lists(st.sampled_from(BOILERPLATE), min_size=1, max_size=5, unique=True))
    if trailer == ["|"]:
        trailer.append(BOILERPLATE[0])

    body = list(BODY)
    head_lines = []
    if kicker:
        head_lines.append(("kicker", kicker))
    head_lines.append(("title", escape(printed_title, quote=False)))
    head_lines += [("zone", z) for z in zone]
    line = dateline
    if merged:
        line = f"{by_line}{draw(st.sampled_from([' ', ' | ', ' &#8226; ']))}{line}"
        if markup != "classic" and draw(st.booleans()):
            # headline, byline, dateline (and the first sentence) in one line
            head_lines = [h for h in head_lines if h[0] not in ("title", "zone")]
            line = f"<b>{escape(printed_title, quote=False)}</b> {line}"
    elif by_line is not None:
        head_lines.append(("byline", by_line))
    line = draw(st.sampled_from(["", "&#8226; ", "&nbsp; "])) + line
    if first_on_line:
        line = f"{line}{draw(st.sampled_from([' - ', ' ']))}{escape(body[0], quote=False)}"
        body_lines = body[1:]
    else:
        body_lines = body
    head_lines.append(("dateline", line))
    html = _render(markup, printed_title if title_tag else None, head_lines, body_lines, trailer)
    expected = {
        "title": title,
        "authors": authors,
        "dateline": place,
        "agency": agency,
        "published_date": date,
        "text": "\n\n".join(body),
    }
    return html.encode("utf-8"), expected


def _render(
    markup: str,
    title_tag: str | None,
    head: list[tuple[str, str]],
    body: list[str],
    trailer: list[str],
) -> str:
    title = f"<title>SpaceWar - {escape(title_tag, quote=False)}</title>" if title_tag else ""
    out = [f"<html><head>{title}</head><body><table><tr><td>"]
    out.append("<a href='/'>SpaceWar</a> | <a href='/wire.html'>Wire</a><br>")
    for kind, text in head:
        if markup == "classic":
            tag = {"kicker": "span class=BDL", "title": "h1", "dateline": "span class=BHS"}
            name = tag.get(kind, "p")
            out.append(f"<{name}>{text}</{name.split()[0]}><br>")
        elif markup == "font" and kind == "title":
            out.append(f"<font size=+2><b>{text}</b></font><br>")
        elif markup == "br":
            out.append(f"{text}<br>\n")
        elif markup == "div":
            out.append(f"<div>{text}</div>")
        else:
            out.append(f"<p>{text}")
    if markup == "classic":
        out.append("<!--body-2-incontainer.php-->")
    for paragraph in body:
        text = escape(paragraph, quote=False)
        out.append(f"{text}<br><br>\n" if markup == "br" else f"<p>{text}</p>")
    if markup == "classic":
        out.append("<!--RELATED LINKS-->")
    for line in trailer:
        out.append(f"{line}<br>\n" if markup == "br" else f"<div>{line}</div>")
    out.append("</td></tr></table></body></html>")
    return "".join(out)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(pages())
def test_pages_built_from_parts_give_the_parts_back(case: tuple[bytes, dict]) -> None:
    body, expected = case
    result = extract(body, URL, fetched_at=FETCHED)
    assert result.article is not None, (result.reason, body.decode())
    a = result.article
    got = {
        "title": a.title,
        "authors": a.authors,
        "dateline": a.dateline,
        "agency": a.agency,
        "published_date": a.published_date,
        "text": a.text,
    }
    assert got == expected, body.decode()
    lowered = a.text.casefold()
    assert not [p for p in LEAK_PHRASES if p.casefold() in lowered]
