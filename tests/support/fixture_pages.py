"""The hand-built extraction fixtures of tests/fixtures/pages and their hand-written gold."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PAGES = Path(__file__).resolve().parents[1] / "fixtures" / "pages"
METADATA_FIELDS = (
    "title",
    "byline",
    "authors",
    "agency",
    "dateline",
    "published_date",
    "published_at",
    "modified_at",
    "category",
    "section",
)
"""The fields the gold gives for every article fixture, compared exactly (the tests and
benchmarks/extraction.py)."""


@dataclass(frozen=True)
class Fixture:
    name: str
    html: Path
    url: str
    is_article: bool
    expected: dict[str, Any]


def load_fixtures() -> list[Fixture]:
    fixtures = []
    for gold_path in sorted(PAGES.glob("*.json")):
        gold = json.loads(gold_path.read_text(encoding="utf-8"))
        html = next(p for p in PAGES.glob(gold_path.stem + ".*") if p.suffix != ".json")
        fixtures.append(
            Fixture(
                name=gold_path.stem,
                html=html,
                url=gold["url"],
                is_article=bool(gold["is_article"]),
                expected=gold.get("expected") or {},
            )
        )
    return fixtures
