"""The house rules of the layout (docs/architecture.md), checked on the source: an import
that breaks one fails here, not in a review."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def imports(package: str) -> Iterator[tuple[Path, str]]:
    """(module file, imported module) of every import in a package, TYPE_CHECKING included."""
    for path in sorted((REPO / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield path, alias.name
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                yield path, node.module


def offenders(package: str, forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(REPO)}: {name}"
        for path, name in imports(package)
        if name.split(".")[0] in forbidden or name.startswith(forbidden)
    ]


def test_the_crawler_never_imports_the_pipelines() -> None:
    # pipelines/ holds thin item pipelines over crawler/; the reverse would be a cycle.
    assert offenders("crawler", ("pipelines",)) == []


def test_the_extractor_and_the_network_know_nothing_of_scrapy() -> None:
    assert offenders("crawler/extract", ("scrapy", "twisted")) == []
    assert offenders("crawler/network", ("scrapy", "twisted")) == []
    assert offenders("crawler/stories", ("scrapy", "twisted", "redis")) == []
    assert offenders("crawler/outcome", ("twisted",)) == []
    assert offenders("crawler/archive", ("scrapy", "twisted")) == []


def test_only_the_distributed_package_and_its_pipeline_touch_redis() -> None:
    outside = [
        o
        for o in offenders("crawler", ("redis", "scrapy_redis"))
        if not o.startswith("crawler/distributed/")
    ]
    assert outside == []
    assert offenders("pipelines", ("redis", "scrapy_redis")) == []


def test_the_dataset_files_are_known_to_the_dataset_package_only() -> None:
    # Writing and listing Parquet is the dataset package's (and the feed exporter's, in
    # pipelines/); the demo only reads the finished dataset back, as an analyst would.
    writers = [
        o
        for o in offenders("crawler", ("pyarrow",))
        if not o.startswith(("crawler/dataset/", "crawler/demo.py"))
    ]
    assert writers == []


def test_no_test_module_imports_another_and_unit_tests_start_nothing() -> None:
    for path, name in imports("tests"):
        if name.startswith("tests.") and not name.startswith("tests.support"):
            raise AssertionError(f"{path.relative_to(REPO)} imports {name}")
    starters = ("subprocess", "replica.server", "tests.support.crawl_run")
    assert offenders("tests/unit", starters) == []
