"""The hand-written copies and look-alikes of tests/fixtures/stories (see its README)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

STORIES = Path(__file__).resolve().parents[1] / "fixtures" / "stories" / "stories.txt"

_HEADER = re.compile(r"^=== (.*)$", re.M)
_FIELD = re.compile(r"(\w+)=(.*?)(?= \w+=|$)")


@dataclass(frozen=True, slots=True)
class StoryFixture:
    id: str
    group: str
    """The gold answer: records of one group are one story."""
    edit: str
    """How the record differs from its group's base ("base", "trimmed", "combo+split+quotes",
    or the kind of look-alike)."""
    site: str
    published: dt.date
    byline: str | None
    url: str
    title: str
    text: str

    @property
    def edits(self) -> list[str]:
        """The edit kinds this record carries (a combination names several)."""
        parts = self.edit.split("+")
        return parts[1:] if parts[0] == "combo" else parts

    @property
    def lookalike(self) -> bool:
        return self.id.startswith("l-")


def load_story_fixtures(path: Path = STORIES) -> list[StoryFixture]:
    """The records in file order (the order a crawl meets them in the tests)."""
    source = path.read_text(encoding="utf-8")
    heads = list(_HEADER.finditer(source))
    out: list[StoryFixture] = []
    for head, nxt in zip(heads, [*heads[1:], None], strict=True):
        fields = dict(_FIELD.findall(head[1]))
        body = source[head.end() : nxt.start() if nxt else len(source)].strip("\n")
        url_line, title_line, text = body.split("\n", 2)
        assert url_line.startswith("url: ") and title_line.startswith("title: "), head[0]
        byline = fields["byline"]
        out.append(
            StoryFixture(
                id=fields["id"],
                group=fields["group"],
                edit=fields["edit"],
                site=fields["site"],
                published=dt.date.fromisoformat(fields["date"]),
                byline=None if byline == "-" else byline,
                url=url_line.removeprefix("url: "),
                title=title_line.removeprefix("title: "),
                text=text.strip(),
            )
        )
    return out
