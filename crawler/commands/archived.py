"""``scrapy archived URL``: print the page the archive holds for a URL.

The newest response record of the URL (any spelling the crawl takes for the same page:
http/https, ``www.`` or not, tracking parameters): a first line naming the record
(``# <url> <WARC-Date> <file> @<offset> (+<length>)``), the HTTP status line and headers as
stored, a blank line, and the body decoded (the Content-Encoding undone), as the crawl
extracted from. ``--all``: every record of the URL, newest first. ``--body``: the bodies
alone. Exit 0; 1 with ``not archived: <url> ...`` on stderr when the archive holds none.

No WARC file is read to find the page: the archive's lookup cache
(:class:`crawler.archive.index.ArchiveIndex`) ingests the per-file indexes published since
its last use, then answers from SQLite.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import UsageError

from crawler.archive.index import ArchiveIndex, read_record
from crawler.dataset.paths import archive_dir
from crawler.util.command import ProjectCommand

if TYPE_CHECKING:
    import argparse
    from pathlib import Path

    from crawler.archive.index import IndexEntry


class Command(ProjectCommand):
    def syntax(self) -> str:
        return "[options] URL"

    def short_desc(self) -> str:
        return "Print the archived page of a URL (the newest record; --all for every one)"

    def long_desc(self) -> str:
        return (
            "Print the newest WARC response record the archive (SMN_ARCHIVE_DIR, else warc/ "
            "beside SMN_OUTPUT) holds for URL: its status line, headers and decoded body. "
            "http/https, www. and tracking parameters do not matter. Exit 1 when none."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--all", action="store_true", help="every record, newest first")
        parser.add_argument("--body", action="store_true", help="the decoded body alone")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("scrapy archived takes one URL")
        assert self.settings is not None
        root = archive_dir(self.settings)
        url = args[0]
        if not root.is_dir():
            self._none(url, f"there is no archive at {root}")
            return
        index = ArchiveIndex(root)
        try:
            index.refresh()
            entries = index.lookup(url)
        finally:
            index.close()
        if not entries:
            self._none(url, f"no record in {root}")
            return
        out = sys.stdout.buffer
        for n, entry in enumerate(entries if opts.all else entries[:1]):
            if n:
                out.write(b"\n")
            _print(out, root, entry, body_only=opts.body)
        out.flush()

    def _none(self, url: str, why: str) -> None:
        print(f"not archived: {url} ({why})", file=sys.stderr)
        self.exitcode = 1


def _print(out: Any, root: Path, entry: IndexEntry, *, body_only: bool) -> None:
    page = read_record(root, entry.filename, entry.offset, entry.length)
    if not body_only:
        head = [
            f"# {page.url} {page.date} {entry.filename} @{entry.offset} (+{entry.length})",
            page.status_line,
            *(f"{name}: {value}" for name, value in page.headers),
            "",
            "",
        ]
        out.write("\n".join(head).encode("utf-8", "replace"))
    out.write(page.body)
    if page.body and not page.body.endswith(b"\n"):
        out.write(b"\n")
