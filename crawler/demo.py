"""``make demo``: crawl the bundled replica of the network into ``output/articles``.

Starts the replica server on a free port of 127.0.0.1, runs ``scrapy crawl smn`` through it
with the standard ``http_proxy``/``https_proxy`` variables (the spider keeps its real start
URLs), then prints a summary of the dataset. Exits with the crawl's exit code.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.dataset as ds

REPO = Path(__file__).resolve().parents[1]


def start_replica() -> tuple[subprocess.Popen[str], str]:
    """The replica server process and its proxy URL."""
    server = subprocess.Popen(
        [sys.executable, "-m", "replica.server", "--port", "0", "--quiet"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    first = server.stdout.readline().strip()
    if not first.startswith("replica serving on "):
        server.kill()
        raise SystemExit(f"demo: the replica did not start ({first or 'no output'})")
    return server, first.removeprefix("replica serving on ")


def summary(path: Path) -> str:
    """A few lines on what the dataset holds."""
    if not path.exists() or not any(path.rglob("*.parquet")):
        return f"{path}: no data written"
    table = ds.dataset(path, partitioning="hive").to_table(
        columns=["site", "title", "duplicate_of", "word_count"]
    )
    files = sorted(path.rglob("*.parquet"))
    lines = [
        f"Dataset {path}: {table.num_rows} articles in {len(files)} files "
        f"({sum(f.stat().st_size for f in files) / 1024:.0f} KiB)",
    ]
    counts = table.group_by("site").aggregate([("title", "count")]).sort_by("site")
    for site, count in zip(
        counts["site"].to_pylist(), counts["title_count"].to_pylist(), strict=True
    ):
        lines.append(f"  {site:24} {count:5} articles")
    syndicated = pc.sum(pc.is_valid(table["duplicate_of"])).as_py() or 0
    lines.append(f"  syndicated copies (duplicate_of set): {syndicated}")
    lines.append(f"  words: {pc.sum(table['word_count']).as_py() or 0}")
    for title in table["title"].to_pylist()[:3]:
        lines.append(f"  e.g. {title}")
    lines.append("Read it: pandas.read_parquet('output/articles') or notebooks/explore.ipynb")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--output", default="output/articles", help="dataset directory")
    args = parser.parse_args(argv)
    server, proxy = start_replica()
    print(f"Replica of the network serving on {proxy}; crawling it through the proxy...")
    env = {**os.environ, "http_proxy": proxy, "https_proxy": proxy, "no_proxy": ""}
    command = [
        sys.executable, "-m", "scrapy", "crawl", "smn",
        "-s", f"SMN_OUTPUT={args.output}",
        # The replica is local: no need to be polite to it.
        "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "DOWNLOAD_DELAY=0",
        "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8", "-s", "LOG_LEVEL=WARNING",
    ]  # fmt: skip
    try:
        done = subprocess.run(command, cwd=REPO, env=env)
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(summary(REPO / args.output))
    return done.returncode


if __name__ == "__main__":
    raise SystemExit(main())
