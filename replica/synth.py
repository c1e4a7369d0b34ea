"""Synthetic articles for throughput benchmarks: N extra pages, computed on request.

Nothing is stored: article ``a`` is a pure function of ``(seed, a)``, and its URL encodes a
permutation of its story number in the words of its title, so a request path decodes back to
``a`` in O(1) time and memory. Articles are dealt round-robin to the replicated sites (both
SpaceDaily platforms included) and listed on paginated archive pages; every 25th article is a
syndicated copy of the one before it, on another site, as wire stories are.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass

from replica.model import (
    Article,
    Link,
    Story,
    classic_url,
    format_date,
    newer_url,
    title_slug,
)
from replica.network import (
    MARSDAILY,
    NEWER_HOST,
    SPACEDAILY,
    SPACEMART,
    SPACEWAR,
    TERRADAILY,
)

DEFAULT_SEED = 20130404
PER_PAGE = 50
COPY_EVERY = 25

SYNTH_HOSTS: tuple[str, ...] = (
    SPACEWAR.host,
    SPACEDAILY.host,
    TERRADAILY.host,
    MARSDAILY.host,
    SPACEMART.host,
    NEWER_HOST,
)

KICKERS: dict[str, tuple[str, ...]] = {
    SPACEWAR.host: ("WAR REPORT", "SUPERPOWERS", "MISSILE DEFENSE", "MILPLEX", "CYBER WARS"),
    SPACEDAILY.host: ("TECH SPACE", "LAUNCH PAD", "STELLAR CHEMISTRY", "EXO WORLDS"),
    TERRADAILY.host: ("CLIMATE SCIENCE", "EARTH OBSERVATION", "WATER WORLD", "FARM NEWS"),
    MARSDAILY.host: ("MARS EXPLORATION", "RED PLANET", "ROVER NEWS"),
    SPACEMART.host: ("SPACE INDUSTRY", "SATELLITE INDUSTRY", "LAUNCH PAD"),
    NEWER_HOST: ("News", "Launch", "Moon", "Mars", "Earth", "Space Industry", "Technology"),
}

# Title grammar: Subject Verb Adjective Noun Preposition Place, one word each, so that the
# underscored or hyphenated slug splits back into the six words unambiguously.
SUBJECTS = [
    "Engineers",
    "Researchers",
    "Astronomers",
    "Officials",
    "Scientists",
    "Planners",
    "Regulators",
    "Lawmakers",
    "Analysts",
    "Crews",
    "Students",
    "Designers",
    "Forecasters",
    "Geologists",
    "Physicists",
    "Startups",
    "Agencies",
    "Navies",
    "Armies",
    "Operators",
    "Contractors",
    "Insurers",
    "Investors",
    "Ministers",
    "Diplomats",
    "Technicians",
    "Pilots",
    "Surveyors",
    "Climatologists",
    "Oceanographers",
]
VERBS = [
    "Test",
    "Unveil",
    "Track",
    "Launch",
    "Study",
    "Map",
    "Deploy",
    "Upgrade",
    "Fund",
    "Review",
    "Order",
    "Model",
    "Probe",
    "Demonstrate",
    "Certify",
    "Assemble",
    "Propose",
    "Plan",
    "Simulate",
    "Survey",
    "Monitor",
    "Measure",
    "Trial",
    "Debate",
    "Retire",
    "Extend",
    "Qualify",
    "Design",
    "Evaluate",
    "Build",
]
ADJECTIVES = [
    "Modular",
    "Hypersonic",
    "Reusable",
    "Orbital",
    "Autonomous",
    "Compact",
    "Solar",
    "Lunar",
    "Martian",
    "Polar",
    "Coastal",
    "Quantum",
    "Optical",
    "Thermal",
    "Experimental",
    "Heavy",
    "Agile",
    "Resilient",
    "Secure",
    "Stealthy",
    "Miniature",
    "Robotic",
    "Digital",
    "Nuclear",
    "Infrared",
    "Seismic",
    "Arctic",
    "Tropical",
    "Atmospheric",
    "Magnetic",
]
NOUNS = [
    "Radar",
    "Satellite",
    "Rover",
    "Lander",
    "Telescope",
    "Sensor",
    "Engine",
    "Antenna",
    "Drone",
    "Network",
    "Payload",
    "Battery",
    "Reactor",
    "Shield",
    "Camera",
    "Spectrometer",
    "Beacon",
    "Array",
    "Tether",
    "Habitat",
    "Probe",
    "Capsule",
    "Booster",
    "Balloon",
    "Buoy",
    "Laser",
    "Relay",
    "Clock",
    "Gyroscope",
    "Thruster",
]
PREPOSITIONS = ["For", "Near", "Over", "Beyond", "Across", "Under"]
PLACES = [
    "Guam",
    "Kourou",
    "Baikonur",
    "Hokkaido",
    "Svalbard",
    "Patagonia",
    "Greenland",
    "Iceland",
    "Tasmania",
    "Nevada",
    "Bavaria",
    "Sardinia",
    "Alaska",
    "Kiruna",
    "Antarctica",
    "Hawaii",
    "Chile",
    "Namibia",
    "Morocco",
    "Norway",
    "Finland",
    "Scotland",
    "Texas",
    "Florida",
    "Queensland",
    "Sweden",
    "Orbit",
    "Mars",
    "Jupiter",
    "Saturn",
    "Venus",
    "Ceres",
    "Titan",
    "Europa",
    "Europe",
    "Asia",
    "Africa",
    "Canada",
    "Brazil",
    "India",
]
WORD_LISTS: tuple[list[str], ...] = (SUBJECTS, VERBS, ADJECTIVES, NOUNS, PREPOSITIONS, PLACES)
CAPACITY = math.prod(len(words) for words in WORD_LISTS)
"""How many distinct titles the grammar has: the upper bound of ``count``."""

_LOOKUP: tuple[dict[str, int], ...] = tuple(
    {w.lower(): i for i, w in enumerate(words)} for words in WORD_LISTS
)

DATELINE_PLACES = (
    "Paris",
    "Washington DC",
    "Houston TX",
    "Moscow",
    "Beijing",
    "Tokyo",
    "New Delhi",
    "Bangalore",
    "Kourou, French Guiana",
    "Darmstadt, Germany",
    "Pasadena CA",
    "Cape Canaveral FL",
    "São José dos Campos, Brazil",
    "Zürich, Switzerland",
    "Tromsø, Norway",
    "Seoul",
    "Canberra",
    "Noordwijk, Netherlands",
)
AGENCIES = ("AFP", "UPI", "SPX", "SPX", "SPX", "IANS", "ESA", "JPL")
REPORTERS = ("Tom Barrow", "Anya Petrova", "Helene Marchand", "Kenji Arai", "Lucia Ferraz")
PEOPLE = (
    "Dr. Maria Sandoval",
    "Dr. Jonas Eklund",
    "Priya Raman",
    "Dr. Samuel Okoye",
    "Claire Dubois",
    "Hiroshi Tanaka",
    "Dr. Elena Voss",
    "Marcus Hale",
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")

_SENTENCES = (
    '"We are very pleased with the results so far," said {person}, who leads the project. '
    '"The {noun} performed better than we expected."',
    "The work is part of a wider effort to make {adj} systems cheaper and more reliable, "
    "according to a statement released on {weekday}.",
    "Officials did not say how much the project would cost, but analysts put it at between "
    "{n1} and {n2} million dollars.",
    "{person} said the team would publish its data later this year. \"There's still a lot "
    "we don't understand,\" {person_short} added.",
    "Similar projects are under way in at least {n3} other countries, and competition for "
    "engineers with the right skills is fierce.",
    "The {noun} is expected to enter service in {year2}, {n3} years later than first planned.",
    "Critics say the schedule is optimistic. \"Every {noun} we've seen slipped by at least a "
    'year," said an independent analyst.',
    "Tests {prep} {place} will continue through the {season}, with a final review planned "
    "before the end of {year2}.",
    "The {adj} design weighs about {n3}0 kilograms -- roughly half as much as the system it "
    "replaces -- and draws less power.",
    '"This is the kind of capability that was science fiction ten years ago," {person} '
    "told reporters.",
    "Partners from {n3} countries have contributed instruments, software and test facilities "
    "to the programme.",
    "Data from the campaign will be shared with universities and with the operators of "
    "similar {noun_lower}s.",
)
_SUBHEADINGS = ("- {adj} ambitions -", "- A crowded field -", "- 'Lessons learned' -")


@dataclass(frozen=True, slots=True)
class ArchivePage:
    host: str
    number: int
    """Page number from 1; 0 is the index listing all pages."""


class Synth:
    """The synthetic part of the replica: ``count`` articles derived from ``seed``."""

    def __init__(self, count: int, seed: int = DEFAULT_SEED) -> None:
        if not 0 <= count <= CAPACITY // 2:
            raise ValueError(f"scale must be between 0 and {CAPACITY // 2}")
        self.count = count
        self.seed = seed
        rng = random.Random(seed)
        # An affine permutation of the title space: consecutive articles get unrelated titles.
        mult = rng.randrange(CAPACITY // 3, CAPACITY)
        while math.gcd(mult, CAPACITY) != 1:
            mult += 1
        self._mult = mult
        self._offset = rng.randrange(CAPACITY)
        self._inverse = pow(mult, -1, CAPACITY)

    # -------------------------------------------------------------------- identity and URLs

    @staticmethod
    def host_of(a: int) -> str:
        return SYNTH_HOSTS[a % len(SYNTH_HOSTS)]

    @staticmethod
    def is_copy(a: int) -> bool:
        return a % COPY_EVERY == COPY_EVERY - 1

    @classmethod
    def story_of(cls, a: int) -> int:
        return a - 1 if cls.is_copy(a) else a

    def _words(self, s: int) -> list[str]:
        code = (self._mult * s + self._offset) % CAPACITY
        words = []
        for words_list in reversed(WORD_LISTS):
            code, digit = divmod(code, len(words_list))
            words.append(words_list[digit])
        return words[::-1]

    def title(self, s: int) -> str:
        return " ".join(self._words(s))

    def url(self, a: int) -> str:
        host = self.host_of(a)
        title = self.title(self.story_of(a))
        if host == NEWER_HOST:
            prefix = ("", "sd-", "t-", "m-")[a % 4]
            suffix = "-999" if a % 3 == 0 else ""
            return newer_url(prefix + title_slug(title).lower().replace("_", "-") + suffix)
        return classic_url(host, title, suffix=a % 7 != 3)

    def locate(self, host: str, path: str) -> int | None:
        """The article a request path on ``host`` names, or None."""
        if host == NEWER_HOST:
            match = re.fullmatch(r"/(?:sd-|t-|m-)?([a-z-]+?)(?:-999)?/", path)
            sep = "-"
        else:
            match = re.fullmatch(r"/reports/([A-Za-z_]+?)(?:_999)?\.html", path)
            sep = "_"
        if match is None:
            return None
        words = match.group(1).split(sep)
        if len(words) != len(WORD_LISTS):
            return None
        code = 0
        for word, lookup, words_list in zip(words, _LOOKUP, WORD_LISTS, strict=True):
            digit = lookup.get(word.lower())
            if digit is None:
                return None
            code = code * len(words_list) + digit
        s = (code - self._offset) * self._inverse % CAPACITY
        for a in (s, s + 1):
            # The path must be exactly the canonical one (case, prefix and suffix).
            if (
                a < self.count
                and self.story_of(a) == s
                and self.host_of(a) == host
                and self.url(a).split(host, 1)[1] == path
            ):
                return a
        return None

    # ------------------------------------------------------------------------ content

    def story(self, s: int) -> Story:
        rng = random.Random(self.seed * 1_000_003 + s)
        subject, verb, adj, noun, prep, place = self._words(s)
        agency = rng.choice(AGENCIES)
        if agency in ("AFP", "UPI") and rng.random() < 0.3:
            byline = f"By {rng.choice(REPORTERS)}"
        elif agency == "AFP":
            byline = "by AFP Staff Writers"
        else:
            byline = "by Staff Writers"
        date = dt.date(2013, 1, 1) + dt.timedelta(days=rng.randrange(13 * 365))
        person = rng.choice(PEOPLE)
        fill = {
            "person": person,
            "person_short": person.split()[-1],
            "noun": noun.lower(),
            "noun_lower": noun.lower(),
            "adj": adj.lower(),
            "Adj": adj,
            "prep": prep.lower(),
            "place": place,
            "weekday": rng.choice(WEEKDAYS),
            "season": rng.choice(("spring", "summer", "autumn", "winter")),
            "n1": str(rng.randrange(20, 90)),
            "n2": str(rng.randrange(100, 400)),
            "n3": str(rng.randrange(2, 9)),
            "year2": str(date.year + rng.randrange(1, 6)),
        }
        lead = (
            f"{subject} {prep.lower()} {place} are preparing to {verb.lower()} a new "
            f"{adj.lower()} {noun.lower()}, officials said {fill['weekday']}, in a project "
            f"that has drawn interest from {fill['n3']} countries."
        )
        paragraphs = [lead]
        count = rng.randrange(4, 8)
        sentences = rng.sample(_SENTENCES, count)
        for i, sentence in enumerate(sentences):
            if i == 3 and rng.random() < 0.5:
                paragraphs.append(rng.choice(_SUBHEADINGS).format(**fill))
            paragraphs.append(sentence.format(**fill))
        return Story(
            key=f"synth-{s}",
            title=self.title(s),
            byline=byline,
            place=rng.choice(DATELINE_PLACES),
            agency=agency,
            date=date,
            date_text=format_date(date, rng.randrange(4)),
            raw_paragraphs=tuple(paragraphs),
            image=f"{adj}-{noun}".lower(),
        )

    def article(self, a: int) -> Article:
        if not 0 <= a < self.count:
            raise IndexError(a)
        host = self.host_of(a)
        s = self.story_of(a)
        kickers = KICKERS[host]
        stride = len(SYNTH_HOSTS)
        teasers = tuple(
            f"synth:{b}" for b in (a - stride, a + stride) if 0 <= b < self.count and b != a
        )
        tags = {"synthetic"}
        if self.is_copy(a):
            tags.add("syndicated-copy")
        elif self.is_copy(a + 1) and a + 1 < self.count:
            tags.add("syndicated-original")
        return Article(
            key=f"synth:{a}",
            story=self.story(s),
            url=self.url(a),
            kicker=kickers[a % len(kickers)],
            teasers=teasers,
            cp1252=host != NEWER_HOST and a % 10 == 7,
            copy_of=f"synth:{a - 1}" if self.is_copy(a) else None,
            post_id=100_000 + a if host == NEWER_HOST else 0,
            synthetic=True,
            tags=frozenset(tags),
        )

    def articles(self) -> Iterator[Article]:
        for a in range(self.count):
            yield self.article(a)

    # ------------------------------------------------------------------------- archive

    def count_on(self, host: str) -> int:
        i = SYNTH_HOSTS.index(host)
        return len(range(i, self.count, len(SYNTH_HOSTS)))

    def pages_on(self, host: str) -> int:
        return math.ceil(self.count_on(host) / PER_PAGE)

    def page_articles(self, host: str, number: int) -> range:
        i = SYNTH_HOSTS.index(host)
        stride = len(SYNTH_HOSTS)
        first = i + (number - 1) * PER_PAGE * stride
        last = min(i + number * PER_PAGE * stride, self.count)
        return range(first, last, stride)

    @staticmethod
    def archive_url(host: str, number: int = 0) -> str:
        if host == NEWER_HOST:
            return f"https://{host}/archive/" + (f"page/{number}/" if number else "")
        return f"https://{host}/archive/" + (f"page-{number}.html" if number else "index.html")

    def archive_urls(self) -> Iterator[str]:
        if not self.count:
            return
        for host in SYNTH_HOSTS:
            yield self.archive_url(host)
            for number in range(1, self.pages_on(host) + 1):
                yield self.archive_url(host, number)

    def locate_archive(self, host: str, path: str) -> ArchivePage | None:
        if not self.count or host not in SYNTH_HOSTS:
            return None
        if host == NEWER_HOST:
            match = re.fullmatch(r"/archive/(?:page/([1-9][0-9]*)/)?", path)
        else:
            match = re.fullmatch(r"/archive/(?:index|page-([1-9][0-9]*))\.html", path)
        if match is None:
            return None
        number = int(match.group(1) or 0)
        if number > self.pages_on(host):
            return None
        return ArchivePage(host, number)

    def pager(self, page: ArchivePage) -> tuple[Link, ...]:
        """Links from an archive page: the index, then previous and next pages."""
        links = [Link(self.archive_url(page.host), "Archive index")]
        if page.number > 1:
            links.append(Link(self.archive_url(page.host, page.number - 1), "Previous page"))
        if page.number < self.pages_on(page.host):
            links.append(Link(self.archive_url(page.host, page.number + 1), "Next page"))
        return tuple(links)

    def index_links(self, host: str) -> tuple[Link, ...]:
        return tuple(
            Link(self.archive_url(host, n), f"Page {n}") for n in range(1, self.pages_on(host) + 1)
        )
