"""The replica's content model: stories (the text), article pages (a story on a site), links.

Text is written in plain ASCII with straight quotes; :func:`smarten` turns it into the
typographic Unicode the pages show, so the expected text in the manifest and the bytes in the
pages come from the same source.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Literal

from replica.network import NEWER_HOST

Platform = Literal["classic", "newer"]


@dataclass(frozen=True, slots=True)
class Link:
    url: str
    text: str


@dataclass(frozen=True, slots=True)
class Story:
    """One news story: what every syndicated copy of it shares."""

    key: str
    title: str
    byline: str
    """As printed, with its leading "by": "by AFP Staff Writers", "By Tom Barrow"."""
    place: str
    agency: str
    date: dt.date
    date_text: str
    """The date as the dateline writes it: "Apr 04, 2013", "April 03, 2013", "Apr 2, 2013"."""
    raw_paragraphs: tuple[str, ...]
    """Paragraphs in ASCII with straight quotes; "- Title -" ones are subheadings."""
    image: str | None = None
    """Stem of the lead image on www.spxdaily.com."""

    @property
    def dateline(self) -> str:
        return f"{self.place} ({self.agency}) {self.date_text}"

    @property
    def paragraphs(self) -> tuple[str, ...]:
        """The body as a reader sees it: curly quotes and dashes."""
        return tuple(smarten(p) for p in self.raw_paragraphs)

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)

    @property
    def byline_name(self) -> str:
        """The byline without its leading "by"."""
        return re.sub(r"^[Bb]y\s+", "", self.byline)

    def summary(self, limit: int = 600) -> str:
        """The feed and teaser summary: the start of the body cut mid-word, as the network does."""
        body = " ".join(p for p in self.paragraphs if not is_subheading(p))
        return body[:limit]


@dataclass(frozen=True, slots=True)
class Article:
    """A story published as one page on one site."""

    key: str
    story: Story
    url: str
    """Canonical URL, the page's og:url."""
    kicker: str
    related_links: tuple[Link, ...] = ()
    teasers: tuple[str, ...] = ()
    """Keys of the articles in this page's RELATED CONTENT box."""
    extra_headlines: tuple[Link, ...] = ()
    """Links added to the headline lists at the bottom (dead links, off-network links)."""
    cp1252: bool = False
    """Curly quotes as windows-1252 bytes although the page declares ISO-8859-1."""
    copy_of: str | None = None
    """Key of the article this one republishes (a syndicated wire story)."""
    post_id: int = 0
    """WordPress post id on the newer platform."""
    synthetic: bool = False
    tags: frozenset[str] = field(default_factory=frozenset)

    @property
    def title(self) -> str:
        return self.story.title

    @property
    def host(self) -> str:
        return self.url.split("/")[2]

    @property
    def path(self) -> str:
        return "/" + self.url.split("/", 3)[3]

    @property
    def site(self) -> str:
        """Domain without www, the crawler's ``site`` field."""
        return self.host.removeprefix("www.")

    @property
    def platform(self) -> Platform:
        return "newer" if self.host == NEWER_HOST else "classic"


def is_subheading(paragraph: str) -> bool:
    return paragraph.startswith("- ") and paragraph.endswith(" -")


# A quote opens at the start of the text or after a space, bracket, dash or slash.
_OPEN_DOUBLE = re.compile(r'(?<![^\s(\[{\u2014\u2013/-])"')
_OPEN_SINGLE = re.compile(r"(?<![^\s(\[{\u2014\u2013/-])'")


def smarten(text: str) -> str:
    """Straight quotes to curly ones and ``--`` to an em dash, as the network's CMS does."""
    text = text.replace("--", "\u2014")
    text = _OPEN_DOUBLE.sub("\u201c", text).replace('"', "\u201d")
    return _OPEN_SINGLE.sub("\u2018", text).replace("'", "\u2019")


def title_slug(title: str) -> str:
    """The classic URL stem of a title: words joined by underscores, punctuation dropped.

    "Einstein's" gives "Einsteins" and "Earth-Like" gives "Earth_Like", as on the real sites.
    """
    words = re.sub(r"[^A-Za-z0-9\s_-]", "", title)
    return re.sub(r"[\s_-]+", "_", words).strip("_")


def newer_slug(title: str) -> str:
    """The newer platform's slug of a title: lower case, hyphens."""
    return title_slug(title).lower().replace("_", "-")


def classic_url(host: str, title: str, *, suffix: bool = True) -> str:
    stem = title_slug(title)
    return f"https://{host}/reports/{stem}{'_999' if suffix else ''}.html"


def newer_url(slug: str) -> str:
    return f"https://{NEWER_HOST}/{slug}/"


_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def parse_date_text(text: str) -> dt.date:
    """Parse the dateline date forms the network uses ("Apr 04, 2013", "April 3, 2013")."""
    match = re.fullmatch(r"([A-Z][a-z]+)\.? (\d{1,2}), (\d{4})", text)
    if match is None:
        raise ValueError(f"not a dateline date: {text!r}")
    name, day, year = match.groups()
    for number, month in enumerate(_MONTHS, start=1):
        if month.startswith(name[:3]):
            return dt.date(int(year), number, int(day))
    raise ValueError(f"unknown month in {text!r}")


def format_date(date: dt.date, style: int) -> str:
    """One of the four dateline date forms: 0 "Apr 04, 2013", 1 "April 03, 2013", 2 "Apr 4,
    2013", 3 "April 4, 2013"."""
    month = _MONTHS[date.month - 1]
    short = month[:3]
    if style == 0:
        return f"{short} {date.day:02d}, {date.year}"
    if style == 1:
        return f"{month} {date.day:02d}, {date.year}"
    if style == 2:
        return f"{short} {date.day}, {date.year}"
    return f"{month} {date.day}, {date.year}"
