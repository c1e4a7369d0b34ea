"""``python -m crawler.extract PAGE.html --url URL``: show what the extractor makes of a page.

Prints the record as one JSON object on stdout and exits 0; for a page that is not an
article, prints the reason on stderr and exits 3; for a file that cannot be read, exits 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from crawler.extract import extract
from crawler.items import NOT_STORED

EXIT_NOT_ARTICLE = 3
EXIT_UNREADABLE = 2


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m crawler.extract",
        description="Extract the article record from a saved Space Media Network page.",
    )
    parser.add_argument("page", help="path of the saved HTML page")
    parser.add_argument("--url", required=True, help="the URL the page was fetched from")
    parser.add_argument("--content-type", help="the Content-Type header it came with")
    args = parser.parse_args(argv)
    try:
        body = Path(args.page).read_bytes()
    except OSError as exc:
        print(f"error: cannot read {args.page}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    result = extract(body, args.url, content_type=args.content_type)
    if result.article is None:
        print(f"not an article: {result.reason}", file=sys.stderr)
        return EXIT_NOT_ARTICLE
    record = dataclasses.asdict(result.article)
    for f in dataclasses.fields(result.article):
        if f.metadata.get(NOT_STORED):
            del record[f.name]
    out = json.dumps(record, ensure_ascii=False, default=_jsonable)
    sys.stdout.buffer.write(out.encode("utf-8") + b"\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
