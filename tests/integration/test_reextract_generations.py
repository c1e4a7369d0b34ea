"""``scrapy reextract`` in its default mode, the dataset's next generation, when things go
wrong: SIGKILL while pages are read, once every row is built (at a pause step, or waiting
for the dataset lock another process holds) and right after the switch; a full disk; damaged
WARC records. After each, ``output/articles`` reads whole (pandas, pyarrow, DuckDB), every
article once, and the next run finishes the job and cleans what the killed one left."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from crawler.dataset.compaction import PAUSE_ENV
from crawler.dataset.generations import current, generations_dir
from crawler.dataset.lock import DatasetLock
from crawler.outcome.judge import ExitCode
from replica.server import ReplicaHandle
from tests.support.crawl_run import REPO
from tests.support.disk import fill, small_tmpfs
from tests.support.readers import whole
from tests.support.reextract_run import (
    MARKER,
    Crawled,
    by_key,
    crawl_for_reextract,
    reextract,
    reextract_command,
    report_of,
)
from tests.support.warc import damage_two_records, published_rows
from tests.support.writer import article, run_writer

SLOW = "tests.support.marked_work.slow"
"""The extractor at a second a page: a run still reading when its first rows are out."""
ONE_ROW_FILES = {"SMN_ROW_GROUP_SIZE": "1", "SMN_FILE_MAX_ROWS": "1"}
"""Every row its own file: the run's first rows are published in its build at once."""


@pytest.fixture(scope="module")
def crawled(replica: ReplicaHandle, tmp_path_factory: pytest.TempPathFactory) -> Crawled:
    return crawl_for_reextract(replica, tmp_path_factory.mktemp("generations"))


@pytest.fixture
def dataset(crawled: Crawled, tmp_path: Path) -> Path:
    """A copy of the crawl's output (the link, its generation, the archive) for one test."""
    root = tmp_path / "out"
    shutil.copytree(crawled.root, root, symlinks=True)
    assert (root / "articles").is_symlink()
    return root / "articles"


def urls_of(crawled: Crawled) -> list[str]:
    return sorted(row["url"] for row in crawled.rows)


def with_gained(crawled: Crawled, dataset: Path, also: Iterable[str] = ()) -> list[str]:
    """The crawl's URLs, the one page today's extractor gains, as the dataset has it, and
    ``also``."""
    gained = sorted(set(whole(dataset)) - set(urls_of(crawled)) - set(also))
    assert len(gained) == 1 and MARKER in gained[0]
    return sorted([*urls_of(crawled), *gained, *also])


def builds_beside(dataset: Path) -> list[Path]:
    """The hidden directories re-extractions build their rows in, beside the dataset."""
    return sorted(dataset.parent.glob(f".{dataset.name}.reextract-*"))


def unfinished_generations(dataset: Path) -> list[str]:
    """Generations neither current nor retired (kept for readers): builds killed runs left."""
    gens = generations_dir(dataset)
    live = current(dataset).name
    return sorted(
        p.name
        for p in gens.iterdir()
        if p.is_dir() and p.name != live and not (gens / f"{p.name}.retired").exists()
    )


def assert_readers_see_one_generation(dataset: Path) -> None:
    """Through the stable path a reader lists only published files: no temp file, no
    hidden build, nothing of another generation."""
    listed = [p.relative_to(dataset).as_posix() for p in dataset.rglob("*") if p.is_file()]
    assert listed
    hidden = [p for p in listed if any(part.startswith(".") for part in p.split("/"))]
    assert hidden == []
    assert all(p.endswith(".parquet") or p == "_reextract.json" for p in listed), listed


def assert_cleaned(dataset: Path) -> None:
    """No build of a killed run left: beside the dataset, among the generations."""
    assert builds_beside(dataset) == []
    assert unfinished_generations(dataset) == []
    assert list(generations_dir(dataset).glob("*.building")) == []


class Running:
    """``scrapy reextract`` in the background, its output in a file."""

    def __init__(self, dataset: Path, log: Path, settings: dict[str, str], env: dict[str, str]):
        command, environment = reextract_command(
            dataset, "--wait", "120", settings=settings, env=env
        )
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                command, cwd=REPO, env=environment, stdout=out, stderr=subprocess.STDOUT
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
        """Poll ``condition`` until it holds; fail if the run ends first or it takes long."""
        deadline = time.monotonic() + timeout
        while not condition():
            assert self.process.poll() is None, f"ended before {what}:\n{self.output()[-3000:]}"
            assert time.monotonic() < deadline, f"no {what} in {timeout} s"
            time.sleep(0.02)

    def kill(self) -> None:
        assert self.process.poll() is None, "the run ended before the kill"
        self.process.send_signal(signal.SIGKILL)
        assert self.process.wait(timeout=30) == -signal.SIGKILL

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Callable[..., Running]]:
    started: list[Running] = []

    def start(dataset: Path, settings: dict[str, str], env: dict[str, str]) -> Running:
        run = Running(dataset, tmp_path / f"run{len(started)}.log", settings, env)
        started.append(run)
        return run

    yield start
    for run in started:
        run.stop()


def paused(step: str, gate: Path) -> dict[str, str]:
    return {PAUSE_ENV: f"{step}:{gate}"}


def reached(gate: Path) -> Callable[[], bool]:
    return Path(f"{gate}.reached").exists


def finish_again(crawled: Crawled, dataset: Path) -> None:
    """The run after a killed one: it finishes, switches, leaves every article once and
    nothing of the killed run."""
    again = reextract(dataset)
    assert again.returncode == 0, again.output[-3000:]
    assert again.last_line.startswith("OK: "), again.last_line
    assert "to the generation" in again.output
    rows = published_rows(dataset)
    by_key(rows)  # one row per page
    assert sorted(r["url"] for r in rows) == with_gained(crawled, dataset)
    assert_readers_see_one_generation(dataset)
    assert_cleaned(dataset)


# -- kills ----------------------------------------------------------------------------


def test_killed_while_pages_are_read(
    crawled: Crawled, dataset: Path, running: Callable[..., Running]
) -> None:
    old = dataset.resolve()

    def rows_in_build() -> bool:
        return any(p for build in builds_beside(dataset) for p in build.rglob("part-*.parquet"))

    run = running(dataset, {**ONE_ROW_FILES, "SMN_EXTRACT_WORK": SLOW}, {})
    run.wait_for(rows_in_build, "rows published in the build")
    run.kill()

    # killed while reading: nothing built into the new generation yet, nothing switched
    assert not list(generations_dir(dataset).glob("*/_reextract.json"))
    assert dataset.resolve() == old
    assert whole(dataset) == urls_of(crawled)
    assert_readers_see_one_generation(dataset)
    assert builds_beside(dataset) and unfinished_generations(dataset)  # left by the kill
    finish_again(crawled, dataset)


@pytest.mark.parametrize("where", ["pause", "waiting for the lock"])
def test_killed_once_built_before_the_switch(
    crawled: Crawled, dataset: Path, running: Callable[..., Running], tmp_path: Path, where: str
) -> None:
    old = dataset.resolve()
    gate = tmp_path / "gate"
    run = running(dataset, ONE_ROW_FILES, paused("reextract-built", gate))
    run.wait_for(reached(gate), "the built step")
    if where == "waiting for the lock":
        # a crawl holds the lock: the run waits for it, every row built
        lock = DatasetLock.acquire(dataset)
        try:
            gate.touch()
            run.wait_for(lambda: "waiting up to" in run.output(), "the wait for the lock")
            run.kill()
        finally:
            lock.release()
    else:
        run.kill()

    (built,) = unfinished_generations(dataset)
    assert (generations_dir(dataset) / built / "_reextract.json").exists()  # whole, unswitched
    assert dataset.resolve() == old
    assert whole(dataset) == urls_of(crawled)
    assert_readers_see_one_generation(dataset)
    finish_again(crawled, dataset)


def test_killed_right_after_the_switch(
    crawled: Crawled, dataset: Path, running: Callable[..., Running], tmp_path: Path
) -> None:
    old = dataset.resolve()
    gate = tmp_path / "gate"
    run = running(dataset, ONE_ROW_FILES, paused("reextract-switched", gate))
    run.wait_for(reached(gate), "the switched step")
    run.kill()

    # the new generation is current and whole; the old one is kept for its readers
    assert dataset.resolve() != old
    assert (old.parent / f"{old.name}.retired").exists()
    switched = with_gained(crawled, dataset)
    assert whole(dataset) == switched
    assert whole(old) == urls_of(crawled)
    assert_readers_see_one_generation(dataset)
    finish_again(crawled, dataset)
    assert whole(dataset) == switched


# -- disk full ------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """An 8 MB tmpfs (the crawl's output takes some 2), where this process may mount one."""
    with small_tmpfs(tmp_path / "disk", "8m") as mount:
        yield mount


def carried_over_bytes(crawled: Crawled, tmp_path: Path) -> tuple[int, int]:
    """The disk space a ``--sites spacewar.com`` re-extraction's new files take (one row a
    file): the rows it re-extracts, the rows it carries over, measured on a copy."""
    root = tmp_path / "measured"
    shutil.copytree(crawled.root, root, symlinks=True)
    done = reextract(root / "articles", "--sites", "spacewar.com", settings=ONE_ROW_FILES)
    assert done.returncode == 0, done.output[-3000:]
    sizes = [0, 0]
    for path in (root / "articles").rglob("part-*.parquet"):
        crawl_id = crawl_id_of_file(path)
        sizes[crawl_id == crawled.crawl_id] += path.stat().st_blocks * 512
    return sizes[0], sizes[1]


def crawl_id_of_file(path: Path) -> str:
    (crawl_id,) = set(pq.read_table(path, columns=["crawl_id"])["crawl_id"].to_pylist())
    return str(crawl_id)


@pytest.mark.parametrize("when", ["rows", "carry-over"])
def test_a_full_disk_exits_4_and_leaves_the_old_generation(
    crawled: Crawled, small_disk: Path, tmp_path: Path, when: str
) -> None:
    args: tuple[str, ...] = ()
    leave = 16384  # the first row's file does not fit
    if when == "carry-over":
        # the re-extracted rows fit, the rows carried over do not
        args = ("--sites", "spacewar.com")
        fresh, carried = carried_over_bytes(crawled, tmp_path)
        leave = fresh + carried // 2
    root = small_disk / "out"
    shutil.copytree(crawled.root, root, symlinks=True, ignore=shutil.ignore_patterns("state*"))
    dataset = root / "articles"
    old = dataset.resolve()
    filler = fill(small_disk, leave)

    full = reextract(dataset, *args, settings=ONE_ROW_FILES)

    assert full.returncode == ExitCode.OUTPUT_ERROR, full.output[-3000:]
    premise = "Dataset output error" if when == "rows" else "Cannot complete the new dataset"
    assert premise in full.output
    line = full.last_line
    assert line.startswith("FAILED (code 4): the dataset could not be written"), line
    assert f"no space left on device ({root})" in line, line
    assert line.endswith(f"{dataset} unchanged (nothing published): run it again"), line
    assert dataset.resolve() == old
    assert whole(dataset) == urls_of(crawled)
    assert_readers_see_one_generation(dataset)
    filler.unlink()
    finish_again(crawled, dataset)


# -- damaged records ------------------------------------------------------------------


def test_damaged_records_are_skipped_counted_and_their_rows_kept(
    crawled: Crawled, dataset: Path
) -> None:
    damaged = damage_two_records(dataset.parent / "warc", crawled.rows)
    run = reextract(dataset)
    assert run.returncode == 0, run.output[-3000:]
    assert "to the generation" in run.output
    new = {row["url"]: row for row in published_rows(dataset)}
    assert sorted(new) == with_gained(crawled, dataset)
    for url in damaged:
        assert new[url]["crawl_id"] == crawled.crawl_id  # carried over as it was
    report = report_of(run.output)["reextract"]
    assert report["damaged_records"] >= 2
    assert damaged <= {page["url"] for page in report["damaged"]}
    assert report["kept"]["damaged"] == 2
    assert "damaged records skipped" in run.output


# -- a crawl publishing during the build ----------------------------------------------


def test_rows_a_crawl_publishes_while_the_generation_is_built_are_there_once(
    crawled: Crawled, dataset: Path, running: Callable[..., Running], tmp_path: Path
) -> None:
    """A cron crawl publishes a file in the current generation once the build began (the
    catch-up links it in at the switch): its rows must not also be carried over."""
    gate = tmp_path / "gate"
    run = running(dataset, {}, paused("reextract-begun", gate))
    run.wait_for(reached(gate), "the begun step")
    with DatasetLock.acquire(dataset):  # as a crawl publishes
        run_writer(dataset, [article(1), article(2)], crawl_id="20261205T040000Z-cron01")
    gate.touch()
    assert run.process.wait(timeout=120) == 0, run.output()[-3000:]
    cron = [article(1).url, article(2).url]
    assert whole(dataset) == with_gained(crawled, dataset, also=cron)  # each once


def test_a_page_a_crawl_publishes_while_the_generation_is_switched_is_there_once(
    crawled: Crawled, dataset: Path, running: Callable[..., Running], tmp_path: Path
) -> None:
    """The page the crawl's extractor could not read, now read by a cron crawl (its record
    already in the archive the re-extraction read) and published in the current generation
    before the switch: the catch-up brings its row, the re-extraction has one too."""
    old = dataset.resolve()
    gate = tmp_path / "gate"
    run = running(dataset, {}, paused("reextract-built", gate))
    run.wait_for(reached(gate), "the built step")
    (built,) = unfinished_generations(dataset)
    built_dir = generations_dir(dataset) / built
    marked = [
        p
        for p in built_dir.rglob("part-*.parquet")
        if any(MARKER in u for u in pq.read_table(p, columns=["url"])["url"].to_pylist())
    ]
    (source,) = marked
    table = pq.read_table(source)
    rows = [r for r in table.to_pylist() if MARKER in r["url"]]
    cron_id = "20261205T040000Z-cron02"
    for row in rows:
        row["crawl_id"] = cron_id
    partition = source.parent.relative_to(built_dir)
    with DatasetLock.acquire(dataset):  # as a crawl publishes
        target = dataset / partition / f"part-{cron_id}-00000.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), target)
    gate.touch()
    assert run.process.wait(timeout=120) == 0, run.output()[-3000:]
    assert whole(dataset) == with_gained(crawled, dataset)  # the marked page once
    assert "1 re-extracted rows left out" in run.output()
    # the old generation as the crawl left it
    assert whole(old) == with_gained(crawled, dataset)
    assert {r["crawl_id"] for r in published_rows(old)} == {crawled.crawl_id, cron_id}


# -- one build at a time -----------------------------------------------------------------


def test_a_second_build_while_one_runs_stops_at_once_and_leaves_it_whole(
    crawled: Crawled, dataset: Path, running: Callable[..., Running], tmp_path: Path
) -> None:
    """A second re-extraction (or a compaction from cron) while a re-extraction builds the
    next generation: exit 3 at once, naming the running build; the first one's hidden
    build is not taken for a killed run's leftovers, and it finishes and switches."""
    import sys

    gate = tmp_path / "gate"
    first = running(dataset, ONE_ROW_FILES, paused("reextract-begun", gate))
    first.wait_for(reached(gate), "the first build begun")
    builds = builds_beside(dataset)
    assert builds

    second = reextract(dataset)
    assert second.returncode == ExitCode.LOCKED, second.output[-3000:]
    assert "building the next generation" in second.last_line, second.last_line
    compact = subprocess.run(
        [sys.executable, "-m", "scrapy", "compact", "-s", f"SMN_OUTPUT={dataset}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert compact.returncode == ExitCode.LOCKED, compact.stdout + compact.stderr
    assert "building the next generation" in compact.stdout
    assert builds_beside(dataset) == builds  # untouched

    gate.touch()
    assert first.process.wait(timeout=120) == 0, first.output()[-3000:]
    rows = published_rows(dataset)
    by_key(rows)
    assert sorted(r["url"] for r in rows) == with_gained(crawled, dataset)
    assert_cleaned(dataset)
