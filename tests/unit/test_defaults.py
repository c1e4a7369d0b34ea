"""Every ``SMN_*`` setting is declared once (crawler/defaults.py), read through that
declaration, and documented by it: the README's tables cannot drift from the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from scrapy.settings import Settings

from crawler import defaults

REPO = Path(__file__).resolve().parents[2]
DOCS = [REPO / "README.md", REPO / "docs" / "distributed.md"]
_NAME = re.compile(r"\"(SMN_[A-Z_]+)\"")


def test_the_settings_tables_are_made_from_the_declaration() -> None:
    for page in DOCS:
        text = page.read_text()
        assert "<!-- settings:" in text, page
        assert defaults.render(text) == text, f"{page}: run python -m crawler.defaults"


def test_every_table_lists_its_section_and_every_setting_is_in_one() -> None:
    listed = {
        m for page in DOCS for m in re.findall(r"^\| `(SMN_[A-Z_]+)` \|", page.read_text(), re.M)
    }
    assert listed == set(defaults.BY_NAME)


def test_every_setting_the_code_reads_is_declared_and_every_declared_one_is_read() -> None:
    read: set[str] = set()
    for package in ("crawler", "pipelines"):
        for module in (REPO / package).rglob("*.py"):
            if module.name != "defaults.py":
                read |= set(_NAME.findall(module.read_text()))
    assert read - set(defaults.BY_NAME) == set(), "read but not declared"
    assert set(defaults.BY_NAME) - read == set(), "declared but never read"


def test_the_getters_give_the_declared_default_and_convert_what_is_set() -> None:
    empty = Settings()
    assert defaults.get_int(empty, "SMN_MAX_ERRORS") == 50
    assert defaults.get_str(empty, "SMN_OUTPUT") == "output/articles"
    assert defaults.get_str(empty, "SMN_STATE") is None
    given = Settings({"SMN_MAX_ERRORS": "7", "SMN_INCREMENTAL": "0"})
    assert defaults.get_int(given, "SMN_MAX_ERRORS") == 7
    assert defaults.get_bool(given, "SMN_INCREMENTAL") is False
    with pytest.raises(KeyError):
        defaults.get_int(empty, "SMN_NO_SUCH_SETTING")
    with pytest.raises(TypeError):
        defaults.get_int(empty, "SMN_OUTPUT")  # declared a string
