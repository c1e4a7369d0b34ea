"""Every ``SMN_*`` setting, declared once: name, type, default and what it means.

Components read them through the typed getters here (``get_int(settings, "SMN_MAX_ERRORS")``),
so a default lives in one place whatever reads it, and a name that is not declared fails at
once. The README's settings tables are made from this declaration
(``python -m crawler.defaults`` rewrites them; a test fails when they disagree).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

Kind = Literal["str", "int", "float", "bool", "dict"]
Section = Literal["output", "archive", "run", "incremental", "distributed", "stories"]


@dataclass(frozen=True, slots=True)
class Setting:
    """One project setting."""

    name: str
    """``SMN_...``."""
    kind: Kind
    """How it is read: ``-s NAME=VALUE`` gives a string, converted as Scrapy does."""
    default: Any
    """The value when unset (None: unset, with a meaning the doc gives)."""
    doc: str
    """What it does, one line (Markdown)."""
    section: Section
    """Which README table lists it."""
    shown: str | None = None
    """The default as the README shows it, when not the value itself."""

    @property
    def shown_default(self) -> str:
        if self.shown is not None:
            return self.shown
        if self.default is None:
            return "unset"
        return f"`{self.default}`"


SETTINGS: tuple[Setting, ...] = (
    # -- the dataset and the crawl ----------------------------------------------------------
    Setting(
        "SMN_OUTPUT",
        "str",
        "output/articles",
        "dataset directory; also what the incremental state and dedup know earlier runs from;"
        " empty string turns the dataset writer off",
        "output",
    ),
    Setting(
        "SMN_ROW_GROUP_SIZE",
        "int",
        1000,
        "rows per Parquet row group (dataset and `-O` feed)",
        "output",
    ),
    Setting(
        "SMN_FILE_MAX_ROWS", "int", 100_000, "rows per file before a new one is started", "output"
    ),
    Setting(
        "SMN_MAX_OPEN_FILES",
        "int",
        128,
        "partitions with an open file at once; when another is needed the least recently"
        " used is published",
        "output",
    ),
    Setting(
        "SMN_MAX_BUFFERED_ROWS",
        "int",
        1000,
        "rows waiting for a row group in memory, in all partitions together; past it the rows"
        " of the partition with the most move to the spill file until their partition has a"
        " full row group (a backfill spanning hundreds of months stays in bounded memory"
        " without writing tiny row groups)",
        "output",
    ),
    Setting(
        "SMN_MAX_OPEN_ROW_GROUPS",
        "int",
        1024,
        "row groups held by all open files together (a Parquet writer keeps about 20 KB of"
        " footer per row group until its file is closed); past it the open file with the most"
        " is published",
        "output",
    ),
    Setting(
        "SMN_PUBLISH_INTERVAL_SECONDS",
        "float",
        300,
        "publish every open file at least this often, so a run killed later keeps what it"
        " wrote (each publication starts new files); `0`: only when files fill up and at the"
        " close",
        "output",
    ),
    Setting("SMN_PARQUET_COMPRESSION", "str", "zstd", "Parquet compression codec", "output"),
    Setting(
        "SMN_CLEAN_STALE_TMP",
        "bool",
        True,
        "at start, delete hidden temp files of killed runs (never finished files)",
        "output",
    ),
    Setting(
        "SMN_EXTRACT_TIMEOUT",
        "float",
        30,
        "seconds a page may take in an extraction worker; past it the worker is replaced and"
        " the page counted as an extraction error (asked again next run); `0`: no limit",
        "output",
    ),
    Setting(
        "SMN_EXTRACT_WORK",
        "str",
        "",
        "dotted path of the function a worker runs on each page, instead of the extractor's"
        " (`crawler.extraction.worker.analyse_page`): a hook for tests and experiments",
        "output",
        shown="the extractor",
    ),
    Setting(
        "SMN_EXTRACT_MEMORY_MB",
        "int",
        1024,
        "address space an extraction worker may take beyond its start; a page past it ends"
        " the worker (a fresh one takes its place) and counts as an extraction error; `0`: no"
        " cap",
        "output",
    ),
    Setting(
        "SMN_DISK_QUEUE",
        "bool",
        True,
        "keep the requests waiting to be fetched on disk (Scrapy's disk queues, in a"
        " temporary directory), so memory does not grow with the frontier; a `JOBDIR` set by"
        " hand is used as Scrapy uses it",
        "output",
    ),
    Setting(
        "SMN_MAX_LINKS_PER_PAGE",
        "int",
        5000,
        "links taken from one page or feed; past it the rest are dropped and counted"
        " (`smn/links/over_cap`); `0`: no cap",
        "output",
    ),
    Setting(
        "SMN_CRAWL_ID",
        "str",
        None,
        "force the run id (else `YYYYmmddTHHMMSSZ-xxxxxx`)",
        "output",
    ),
    Setting(
        "SMN_VALIDATION_ENABLED",
        "bool",
        True,
        "drop (and count) records without title or text",
        "output",
    ),
    Setting(
        "SMN_DEDUP_ENABLED",
        "bool",
        True,
        "one row per canonical URL; `duplicate_of` on syndicated copies",
        "output",
    ),
    # -- stories ------------------------------------------------------------------------------
    Setting(
        "SMN_STORIES",
        "bool",
        True,
        "give every row its `story_id` (near copies grouped); False leaves it, and the"
        " `near_duplicate_*` columns, null",
        "stories",
    ),
    Setting(
        "SMN_STORIES_THRESHOLD",
        "float",
        0.65,
        "similarity (estimated containment of 5-word shingles, 0-1) from which a text is a copy"
        " of an earlier one",
        "stories",
    ),
    Setting(
        "SMN_STORIES_WINDOW_DAYS",
        "float",
        3.0,
        "copies are sought only among articles published (else fetched) at most this many days"
        " apart",
        "stories",
    ),
    Setting(
        "SMN_STORIES_KEEP_DAYS",
        "float",
        14.0,
        "how long the story index (in the incremental state, or Redis) keeps an article;"
        " at least the window",
        "stories",
    ),
    Setting(
        "SMN_FUTURE_DATE_TOLERANCE_DAYS",
        "int",
        0,
        "days a `published_date` may be ahead of the fetch date before it is cleared",
        "output",
    ),
    Setting(
        "SMN_EXTRACT_WORKERS",
        "int",
        0,
        "extraction worker processes; `1` runs extraction in one thread off the reactor",
        "output",
        shown="`0` (one per core)",
    ),
    # -- the WARC archive -------------------------------------------------------------------
    Setting(
        "SMN_ARCHIVE",
        "bool",
        True,
        "keep every page fetched (articles, listings, feeds, redirects, 404s; not images) in"
        " WARC files, as it came off the wire; `0`: no archive, and the rows' `warc_*` fields"
        " are null",
        "archive",
    ),
    Setting(
        "SMN_ARCHIVE_DIR",
        "str",
        None,
        "the archive directory",
        "archive",
        shown="`warc` beside `SMN_OUTPUT` (`output/warc`)",
    ),
    Setting(
        "SMN_ARCHIVE_MAX_MB",
        "int",
        1000,
        "a WARC file is published and a new one started past this size (MiB; at most 2000, so"
        " offsets fit the int32 `warc_record_offset`); files are also published before every"
        " dataset file that points into them",
        "archive",
    ),
    # -- running from cron ------------------------------------------------------------------
    Setting(
        "SMN_MAX_ERRORS",
        "int",
        50,
        "more errors than this (see above) fail the run with code 10; negative: no limit",
        "run",
    ),
    Setting(
        "SMN_LAYOUT_MIN_SHARE",
        "float",
        0.8,
        "a site whose article pages are read by a known layout less often than this fires the"
        " layout watch (code 9)",
        "run",
    ),
    Setting(
        "SMN_LAYOUT_MIN_PAGES",
        "int",
        5,
        "the fewest article pages of a site in one run to judge its share read by a known"
        " layout, and the fewest recent articles to judge its field coverage",
        "run",
    ),
    Setting(
        "SMN_WATCH_MIN_PAGES",
        "int",
        2,
        "this many fresh article pages of a site in a row (over runs) that no known layout reads,"
        " or that another layout than the site's usual ones reads, with no page read as usual"
        " since, fire the layout watch (code 9)",
        "run",
    ),
    Setting(
        "SMN_WATCH_WINDOW",
        "int",
        50,
        "article pages per site the state keeps for the layout watch (its window across runs)",
        "run",
    ),
    Setting(
        "SMN_WATCH_FIELD_PAGES",
        "int",
        10,
        "a site's newest articles over which field coverage is judged (at least"
        " `SMN_LAYOUT_MIN_PAGES` of them)",
        "run",
    ),
    Setting(
        "SMN_LAYOUT_MIN_FIELD_COVERAGE",
        "dict",
        None,
        "per-field minimum coverage among a site's articles; a dict (JSON on the command line)"
        " is merged over the default, one number applies to every field, `0` stops watching a"
        " field",
        "run",
        shown='`{"title": 0.9, "text": 0.9, "published_date": 0.8, "dateline": 0.5,'
        ' "byline": 0.2}`',
    ),
    Setting(
        "SMN_REPORTS",
        "str",
        None,
        "directory of the run reports; empty string: no report (the exit code is still judged)",
        "run",
        shown="`reports` beside `SMN_OUTPUT` (`output/reports`)",
    ),
    Setting(
        "SMN_DATASET_LOCK",
        "bool",
        True,
        "take the dataset lock (`.<dataset>.lock` beside `SMN_OUTPUT`); turn off only for"
        " workers of one distributed run that write the same dataset on purpose",
        "run",
    ),
    Setting(
        "SMN_KEEP_GENERATIONS_HOURS",
        "float",
        24.0,
        "hours an old generation of the dataset (before a `scrapy compact` or re-extraction"
        " switched to the next) is kept for readers that opened it; then a later crawl,"
        " verify or compaction deletes it",
        "output",
    ),
    # -- incremental runs -------------------------------------------------------------------
    Setting(
        "SMN_INCREMENTAL",
        "bool",
        True,
        "`0`: fetch everything (a full re-crawl); the state is neither read nor written",
        "incremental",
    ),
    Setting(
        "SMN_STATE",
        "str",
        None,
        "the state file; unset: `state.sqlite` in the directory holding `SMN_OUTPUT`; empty:"
        " incremental runs off",
        "incremental",
    ),
    Setting(
        "SMN_STATE_RECHECK_DAYS",
        "float",
        7,
        "days an About/Privacy/error page or a dead link is trusted before it is fetched"
        " again; a pending link is kept at least this long",
        "incremental",
    ),
    Setting(
        "SMN_STATE_PENDING_ATTEMPTS",
        "int",
        5,
        "runs that must end with a link still pending (its download failing) before it may be"
        " given up",
        "incremental",
    ),
    # -- distributed crawls (docs/distributed.md) -------------------------------------------
    Setting(
        "SMN_REDIS_URL",
        "str",
        None,
        "Redis of the crawl (also read from the environment); unset: not distributed",
        "distributed",
    ),
    Setting(
        "SMN_REDIS_CRAWL",
        "str",
        None,
        "the crawl's name, prefix of its keys: workers with the same name share a crawl and a"
        " state",
        "distributed",
        shown="`smn` (the spider's name)",
    ),
    Setting(
        "SMN_REDIS_IDLE_SECONDS",
        "float",
        5,
        "how long the whole crawl must be quiet before a worker closes",
        "distributed",
    ),
    Setting("SMN_REDIS_HEARTBEAT_SECONDS", "float", 1, "heartbeat period", "distributed"),
    Setting(
        "SMN_REDIS_WORKER_TIMEOUT",
        "float",
        30,
        "a worker silent this long is dead and its leased requests are requeued",
        "distributed",
    ),
    Setting(
        "SMN_REDIS_CHECKPOINT_SECONDS",
        "float",
        300,
        "how often a busy worker publishes its files and releases its leases: at most this"
        " much work is redone when it dies",
        "distributed",
    ),
    Setting(
        "SMN_REDIS_DATASET_SCOPE",
        "str",
        None,
        "which dataset files a worker's state sync may forget (below)",
        "distributed",
        shown="`<hostname>:<absolute SMN_OUTPUT>`",
    ),
)

BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}


def declared(name: str, kind: Kind | None = None) -> Setting:
    """The declaration of ``name``; KeyError for a setting nobody declared."""
    setting = BY_NAME[name]
    if kind is not None and setting.kind != kind:
        raise TypeError(f"{name} is declared {setting.kind}, read as {kind}")
    return setting


def get_str(settings: BaseSettings, name: str) -> str | None:
    """A string setting; None when unset and its default is None."""
    value = settings.get(name, declared(name, "str").default)
    return None if value is None else str(value)


def get_int(settings: BaseSettings, name: str) -> int:
    return settings.getint(name, declared(name, "int").default)


def get_float(settings: BaseSettings, name: str) -> float:
    return settings.getfloat(name, declared(name, "float").default)


def get_bool(settings: BaseSettings, name: str) -> bool:
    return settings.getbool(name, declared(name, "bool").default)


def default(name: str) -> Any:
    """The declared default of ``name``."""
    return declared(name).default


# -- the README's tables ---------------------------------------------------------------------

README = Path(__file__).resolve().parents[1] / "README.md"
_BLOCK = re.compile(
    r"(<!-- settings:(?P<section>\w+)[^>]*-->\n)(?P<table>.*?)(<!-- /settings -->)", re.DOTALL
)


def table(section: Section) -> str:
    """The Markdown table of one section's settings."""
    rows = ["| setting | default | meaning |", "|---|---|---|"]
    rows += [
        f"| `{s.name}` | {s.shown_default} | {s.doc} |" for s in SETTINGS if s.section == section
    ]
    return "\n".join(rows) + "\n"


def render(text: str) -> str:
    """``text`` (a Markdown page) with every settings block made anew from the declaration."""

    def block(match: re.Match[str]) -> str:
        section: Any = match.group("section")
        return str(match.group(1)) + table(section) + str(match.group(4))

    return _BLOCK.sub(block, text)


def main(argv: list[str]) -> int:
    """``python -m crawler.defaults [FILE ...]``: rewrite the settings tables of the files
    (README.md and docs/distributed.md by default)."""
    paths = [Path(a) for a in argv] or [README, README.parent / "docs" / "distributed.md"]
    for path in paths:
        text = path.read_text()
        new = render(text)
        if new != text:
            path.write_text(new)
            print(f"rewrote the settings tables of {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
