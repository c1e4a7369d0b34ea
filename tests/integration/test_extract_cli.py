"""``python -m crawler.extract``: the extractor's command line, run as a user would."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.fixture_pages import load_fixtures

REAL = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "real"
needs_real = pytest.mark.skipif(not REAL.is_dir(), reason="../shared not beside the repo")
ARTICLES = [f for f in load_fixtures() if f.is_article]
URL = "https://www.spacewar.com/reports/Test_999.html"


def _cli(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "crawler.extract", *args], capture_output=True, timeout=120
    )


def test_cli_prints_one_json_record() -> None:
    fixture = ARTICLES[0]
    done = _cli(str(fixture.html), "--url", fixture.url)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.decode("utf-8").splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["title"] == fixture.expected["title"]
    assert record["url"] == fixture.url
    dt.datetime.fromisoformat(record["fetched_at"])


@needs_real
def test_cli_exit_codes_for_non_articles_and_missing_files(tmp_path: Path) -> None:
    feed = _cli(str(REAL / "spacedaily_feed_2013.xml"), "--url", "http://www.spacedaily.com/x.xml")
    assert feed.returncode == 3
    assert feed.stdout == b""
    assert b"not an article" in feed.stderr
    missing = _cli(str(tmp_path / "nope.html"), "--url", URL)
    assert missing.returncode == 2
    assert missing.stdout == b""
    assert len(missing.stderr.decode().strip().splitlines()) == 1
