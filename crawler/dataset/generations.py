"""Dataset generations: ``output/articles`` is a stable link to the current generation.

Layout, beside the dataset's stable path (``SMN_OUTPUT``, ``output/articles``)::

    output/articles -> .articles.gen/g20261205T101500Z-3fa2c1     (a relative symlink)
    output/.articles.gen/g20261205T101500Z-3fa2c1/year=2026/month=3/part-....parquet
    output/.articles.gen/g20261201T020000Z-81be07/...             (the previous generation)
    output/.articles.gen/g20261201T020000Z-81be07.retired         (when it stopped being current)

Why a symlink: replacing a symlink by rename is one atomic step on every POSIX file system, so
the path users type (``pandas.read_parquet("output/articles")``, DuckDB's
``'output/articles/**/*.parquet'``) names either the old generation or the new one, never a
mix; ``SMN_OUTPUT`` keeps meaning the stable path. A generation is hidden (``.articles.gen``)
and beside the link, so no reader of the dataset lists another generation, and the lock
(``.articles.lock``) and quarantine (``articles.quarantine``) stay where they were.

A new generation (compaction, re-extraction) is built beside the current one without the
dataset lock: files it keeps are hard links of the current generation's (no copy; same inode,
size and mtime, so the incremental state sees them unchanged), files it rewrites are new.
Then, under the lock, :meth:`GenerationBuild.commit` links what a crawl published meanwhile
(the catch-up), drops what was removed meanwhile (quarantined), and switches the link.

Publishers that do not hold the dataset lock (the workers of a distributed crawl) publish
into the same dataset while a build runs: each publication (the rename of a finished file
into the dataset) takes the dataset's *publish lock* (``.articles.publish.lock``, a
``flock`` beside the dataset lock) shared and resolves the current generation under it; the
switch takes it exclusive for its last step only (the files published since its first
catch-up, then the link). A file published before that step is caught up; one published
after it lands in the new generation; none lands in a generation that is no longer current.
A publication waits at most as long as that last step (milliseconds: a listing and a few
links), and the switch waits only for publications in progress (:class:`PublishLock`).
A crawl holding the dataset lock takes the publish lock too, never waiting: no switch can
run then.

Readers: a reader that opened its files before the switch reads the old generation to the
end: it is kept ``SMN_KEEP_GENERATIONS_HOURS`` after the switch (a ``<id>.retired`` file says
since when), then deleted by a later crawl, verify or compaction (:func:`remove_expired`).
A reader that lists the files through the link and opens them after a switch may find a
file gone (FileNotFoundError): it never reads a mix. A long analysis session that must not
change under it reads ``Path("output/articles").resolve()``.

A plain dataset directory (made by an older crawler) is migrated on first use under the
lock (:func:`migrate`): its files are hard-linked into a first generation and the directory
and the link are exchanged in one ``renameat2(RENAME_EXCHANGE)`` (Linux); elsewhere the
directory is renamed into the generations and the link put in its place (a moment without
the path). The migration's exchange holds the publish lock exclusive. A distributed worker
migrates a plain directory when it starts, under a brief dataset lock
(:func:`crawler.dataset.lock.join_generations`), so that a later switch never moves the
directory its hidden temp files are in.

Crash safety: the link only ever names a complete generation; a killed build leaves an
unmarked generation whose ``<id>.building`` file nobody holds locked, removed by the next
crawl, verify or compaction; a migration killed half way is finished by :func:`recover`.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import errno
import logging
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from crawler.dataset.files import TMP_RE, DatasetFile, _fsync_dir, _try_lock, published_files

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock, no concurrent publishers
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

GEN_SUFFIX = ".gen"
RETIRED_SUFFIX = ".retired"
BUILDING_SUFFIX = ".building"
SWITCH_SUFFIX = ".switch"
PUBLISH_LOCK_SUFFIX = ".publish.lock"
_TMP_SUFFIXES = (".tmp",)

SWITCH_WAIT = 60.0
"""How long a switch (or a migration) waits for the publications in progress before it
gives up (:class:`PublishesBusy`); each takes milliseconds, so only a publisher stopped
while publishing (SIGSTOP, a hung NFS server) can make it wait that long."""

PAUSE_ENV = "SMNTEST_SWITCH_PAUSE"
"""Test hook: ``<step>:<path>[,<step>:<path>...]``; at ``<step>`` the switch writes
``<path>.reached`` and waits until ``<path>`` exists (once per step): ``publish-busy`` (a
publication holds the publish lock: the switch waits for it), ``publish-locked`` (the switch
holds the publish lock, before its last catch-up)."""


class GenerationError(OSError):
    """A generation could not be built, switched or migrated."""


class GenerationChanged(GenerationError):
    """The current generation is no longer the one a build started from."""


class PublishesBusy(GenerationChanged):
    """Publications held the publish lock longer than the switch would wait (nothing was
    switched; run again)."""


# -- test hooks -------------------------------------------------------------------------


def pause_for_test(env: str, step: str, detail: str = "") -> None:
    """The test hooks of the switch and the writer (:data:`PAUSE_ENV`): a test holds a
    process at ``step`` on a condition, never on a sleep. ``detail`` (a path) is written
    into the ``.reached`` file."""
    specs = os.environ.get(env, "")
    if not specs:
        return
    for spec in specs.split(","):
        name, _, path = spec.partition(":")
        if name != step or not path:
            continue
        reached = Path(f"{path}.reached")
        if os.path.lexists(reached):
            return  # once per step
        partial = Path(f"{path}.reaching")
        partial.write_text(detail)
        os.replace(partial, reached)
        while not os.path.exists(path):
            time.sleep(0.01)
        return


# -- the publish lock -------------------------------------------------------------------


def publish_lock_path(dataset: Path) -> Path:
    """``<parent>/.<name>.publish.lock`` beside the dataset's stable path."""
    stable = stable_path(dataset)
    return stable.parent / f".{stable.name}{PUBLISH_LOCK_SUFFIX}"


class PublishLock:
    """The dataset's publish lock: shared by each publication, exclusive for the last step
    of a switch or a migration.

    A ``flock`` on ``.articles.publish.lock`` (its own file: the dataset lock is held by a
    cron crawl for its whole run, and workers must not wait for that). A lock belongs to
    the open file, so a killed holder holds nothing. On NFS, Linux maps ``flock`` to a lock
    of the server's: it holds across machines unless the mount has ``nolock``."""

    def __init__(self, dataset: Path) -> None:
        self.path = publish_lock_path(dataset)
        self._fd = -1

    def _fileno(self) -> int:
        if self._fd < 0:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        return self._fd

    def close(self) -> None:
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)

    @contextlib.contextmanager
    def shared(self, on_wait: Callable[[], None] | None = None) -> Iterator[float]:
        """Held around one publication; yields the seconds it waited for a switch.
        ``on_wait`` is called when a switch holds the lock (before waiting for it)."""
        fd = self._fileno()
        waited = 0.0
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                if on_wait is not None:
                    on_wait()
                started = time.monotonic()
                # Blocking: a switch holds it for its last step only (it never waits for
                # anything while it does), and a killed switch lets it go.
                fcntl.flock(fd, fcntl.LOCK_SH)
                waited = time.monotonic() - started
        try:
            yield waited
        finally:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def exclusive(self, wait: float = SWITCH_WAIT) -> Iterator[None]:
        """Held for the last step of a switch: waits for the publications in progress (at
        most ``wait`` seconds, then :class:`PublishesBusy`); none starts until it is let
        go."""
        fd = self._fileno()
        if fcntl is not None:
            deadline = time.monotonic() + wait
            pause = 0.001
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    pause_for_test(PAUSE_ENV, "publish-busy")
                    if time.monotonic() >= deadline:
                        raise PublishesBusy(
                            errno.EBUSY,
                            f"publications into {self.path.parent} held {self.path} for "
                            f"{wait:.0f} s; nothing switched",
                        ) from None
                    # Polled, not blocking: a stopped publisher must not hang the switch.
                    time.sleep(pause)
                    pause = min(pause * 2, 0.02)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def __enter__(self) -> PublishLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- where ------------------------------------------------------------------------------


def stable_path(dataset: Path) -> Path:
    """The absolute stable path of ``dataset``: the link users name, however it is spelled.

    The parent is resolved, the last name kept when it is the dataset's own link; a symlink
    of the user's (``/data/articles -> /big/articles``) is followed to the stable path it
    names; a generation directory (``.articles.gen/<id>``) gives its link's path."""
    path = Path(os.path.abspath(dataset))
    for _ in range(40):
        path = path.parent.resolve() / path.name
        if path.parent.name.startswith(".") and path.parent.name.endswith(GEN_SUFFIX):
            name = path.parent.name[1 : -len(GEN_SUFFIX)]
            return path.parent.parent / name
        if not path.is_symlink():
            return path
        target = os.readlink(path)
        if _is_generation_target(path, target):
            return path
        path = Path(os.path.abspath(path.parent / target))
    raise GenerationError(errno.ELOOP, f"too many symbolic links: {dataset}")


def generations_dir(dataset: Path) -> Path:
    """``<parent>/.<name>.gen``: where the generations of ``dataset`` live."""
    stable = stable_path(dataset)
    return stable.parent / f".{stable.name}{GEN_SUFFIX}"


def _switch_path(stable: Path) -> Path:
    return stable.parent / f".{stable.name}{SWITCH_SUFFIX}"


def _is_generation_target(link: Path, target: str) -> bool:
    parts = PurePosixPath(target).parts
    return len(parts) == 2 and parts[0] == f".{link.name}{GEN_SUFFIX}"


def is_linked(dataset: Path) -> bool:
    """The stable path is a link to a generation (migrated)."""
    stable = stable_path(dataset)
    return stable.is_symlink() and _is_generation_target(stable, os.readlink(stable))


def current(dataset: Path) -> Path:
    """The directory that holds the current generation: the link's target, or the plain
    directory of an unmigrated dataset (which may not exist yet). Resolve it once per run,
    under the lock: a switch between two resolutions would split the run's files."""
    stable = stable_path(dataset)
    if stable.is_symlink():
        target = os.readlink(stable)
        if _is_generation_target(stable, target):
            return stable.parent / target
    return stable


def generation_id(directory: Path) -> str | None:
    """The id of a generation directory, None for a plain dataset directory."""
    return directory.name if directory.parent.name.endswith(GEN_SUFFIX) else None


def new_id(now: float | None = None) -> str:
    """``g<UTC time>-<random>``: sorted by name, sorted by creation."""
    stamp = dt.datetime.fromtimestamp(time.time() if now is None else now, dt.UTC)
    return f"g{stamp:%Y%m%dT%H%M%S}Z-{secrets.token_hex(3)}"


# -- the link ---------------------------------------------------------------------------


def _point(stable: Path, generation: str) -> None:
    """Make the stable path a link to ``generation``, atomically (a rename over it)."""
    switch = _switch_path(stable)
    with contextlib.suppress(FileNotFoundError):
        switch.unlink()
    os.symlink(f".{stable.name}{GEN_SUFFIX}/{generation}", switch)
    os.replace(switch, stable)
    _fsync_dir(stable.parent)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False when not
    available here (the caller falls back to two renames)."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, f"cannot exchange {a} and {b}: {os.strerror(code)}")


def _retire(gens: Path, generation: str) -> None:
    """Note when ``generation`` stopped being current: its keeping time starts now."""
    marker = gens / f"{generation}{RETIRED_SUFFIX}"
    marker.write_text(dt.datetime.now(dt.UTC).isoformat(timespec="seconds") + "\n")


# -- migration and recovery -------------------------------------------------------------


def recover(dataset: Path) -> None:
    """Finish what a killed migration or switch left (under the lock)."""
    stable = stable_path(dataset)
    switch = _switch_path(stable)
    if not os.path.lexists(switch):
        return
    gens = generations_dir(stable)
    if switch.is_symlink():
        if not os.path.lexists(stable) and _is_generation_target(stable, os.readlink(switch)):
            os.replace(switch, stable)  # killed between moving the directory and linking
            logger.warning("Finished the migration of %s to generations", stable)
        else:
            switch.unlink()
    elif switch.is_dir():
        # killed after the exchange: the old plain directory waits to be kept a while
        generation = new_id()
        gens.mkdir(exist_ok=True)
        os.replace(switch, gens / generation)
        _retire(gens, generation)


def migrate(dataset: Path) -> Path:
    """Make a plain dataset directory the first generation behind a link (a new dataset
    starts as an empty one); the current generation's directory. Call under the dataset
    lock. Every file is kept: published files, quarantine-bound or foreign files alike."""
    stable = stable_path(dataset)
    recover(stable)
    if is_linked(stable):
        return current(stable)
    if os.path.lexists(stable) and (not stable.is_dir() or stable.is_symlink()):
        # a file, or a link of the user's to something else: not ours to move; the writer
        # says it cannot write there
        return stable
    # Publishers without the dataset lock (distributed workers of an older version, a crawl
    # with SMN_DATASET_LOCK off) may be renaming files into the directory: none does while
    # its files are linked and it is moved away.
    with PublishLock(stable) as lock, lock.exclusive():
        if is_linked(stable):
            return current(stable)
        return _migrate(stable)


def _migrate(stable: Path) -> Path:
    gens = generations_dir(stable)
    gens.mkdir(parents=True, exist_ok=True)
    generation = new_id()
    target = gens / generation
    if not os.path.lexists(stable):
        target.mkdir()
        _point(stable, generation)
        return target
    logger.info("Migrating the dataset %s to generations (%s)", stable, target)
    switch = _switch_path(stable)
    with contextlib.suppress(FileNotFoundError):
        switch.unlink()
    _link_tree(stable, target)
    os.symlink(f".{stable.name}{GEN_SUFFIX}/{generation}", switch)
    _sync_tree(target)
    if _exchange(stable, switch):
        # The plain directory is now at the switch name; readers holding it keep it a while.
        old = new_id()
        os.replace(switch, gens / old)
        _retire(gens, old)
    else:
        shutil.rmtree(target)
        os.replace(stable, target)
        os.replace(switch, stable)
    _fsync_dir(stable.parent)
    return target


def prepare(dataset: Path, keep_hours: float) -> Path:
    """What a crawl, verify or compaction does first, under the dataset lock: finish a
    killed migration or switch, migrate a plain directory, delete the old generations past
    ``keep_hours`` and the builds killed runs left. The current generation's directory."""
    directory = migrate(dataset)
    remove_expired(dataset, keep_hours)
    return directory


def _link_tree(source: Path, target: Path) -> None:
    """Hard-link every file under ``source`` into ``target`` (same relative paths); temp
    files of killed writers are left behind."""
    for dirpath, _dirs, files in os.walk(source):
        relative = Path(dirpath).relative_to(source)
        (target / relative).mkdir(parents=True, exist_ok=True)
        for name in files:
            if name.startswith(".") and name.endswith(_TMP_SUFFIXES):
                continue
            link_or_copy(Path(dirpath, name), target / relative / name)


def link_or_copy(source: Path, target: Path) -> None:
    """``target`` as a hard link of ``source``; a copy keeping its mtime where links are
    not possible (the incremental state knows a file by path, size and mtime)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError as exc:
        if exc.errno in (errno.EEXIST, errno.ENOENT) or isinstance(exc, FileExistsError):
            raise
        shutil.copy2(source, target)


# -- keeping and deleting ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Removed:
    generations: tuple[str, ...] = ()
    """Old generations past their keeping time."""
    partial: tuple[str, ...] = ()
    """Builds a killed process left."""


def remove_expired(dataset: Path, keep_hours: float, now: float | None = None) -> Removed:
    """Delete old generations retired more than ``keep_hours`` ago and builds no live
    process holds; never the current one. Call under the dataset lock."""
    stable = stable_path(dataset)
    gens = generations_dir(stable)
    if not gens.is_dir():
        return Removed()
    now = time.time() if now is None else now
    live = generation_id(current(stable))
    expired: list[str] = []
    partial: list[str] = []
    for entry in sorted(gens.iterdir()):
        if not entry.is_dir() or entry.is_symlink() or entry.name == live:
            continue
        retired = gens / f"{entry.name}{RETIRED_SUFFIX}"
        if retired.exists():
            if retired.stat().st_mtime > now - keep_hours * 3600:
                continue
            if _writing_in(entry):
                continue  # a worker still writes a file begun before the switch: next time
            shutil.rmtree(entry, ignore_errors=True)
            retired.unlink(missing_ok=True)
            expired.append(entry.name)
            continue
        building = gens / f"{entry.name}{BUILDING_SUFFIX}"
        fd = _open_existing(building)
        try:
            if fd is not None and not _try_lock(fd):
                continue  # a build in progress
            shutil.rmtree(entry, ignore_errors=True)
            building.unlink(missing_ok=True)
            partial.append(entry.name)
        finally:
            if fd is not None:
                os.close(fd)
    for marker in gens.iterdir():  # markers whose generation is gone or current
        stem, suffix = os.path.splitext(marker.name)
        orphan = not (gens / stem).exists() or (suffix == BUILDING_SUFFIX and stem == live)
        if suffix in (RETIRED_SUFFIX, BUILDING_SUFFIX) and orphan:
            fd = _open_existing(marker) if suffix == BUILDING_SUFFIX else None
            try:
                if fd is None or _try_lock(fd):
                    marker.unlink(missing_ok=True)
            finally:
                if fd is not None:
                    os.close(fd)
    for name in (*expired, *partial):
        logger.info("Removed dataset generation %s of %s", name, stable)
    return Removed(tuple(expired), tuple(partial))


def _writing_in(generation: Path) -> bool:
    """A live writer holds a hidden temp file in ``generation`` (begun there before a
    switch, to be published into the current generation): it must stay."""
    for dirpath, _dirs, files in os.walk(generation):
        for name in files:
            if not TMP_RE.match(name):
                continue
            fd = _open_existing(Path(dirpath, name))
            if fd is None:
                continue
            try:
                if not _try_lock(fd):
                    return True
            finally:
                os.close(fd)
    return False


def _open_existing(path: Path) -> int | None:
    try:
        return os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None


# -- building the next generation -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Switched:
    """What :meth:`GenerationBuild.commit` did."""

    generation: str
    previous: str | None
    caught_up: int
    """Files a run published in the old generation during the build, linked in."""
    dropped: int
    """Files removed from the old generation during the build (quarantined, deleted),
    dropped from the new one."""


@dataclass
class GenerationBuild:
    """The next generation of a dataset, being built beside the current one.

    Usage (a compaction, a re-extraction)::

        build = GenerationBuild.begin(dataset)         # no lock needed
        build.link(file)                                # keep a file of the base as it is
        ... write new files under build.directory ...
        build.merged(new_relative_path, sources)        # rows of ``sources`` now live there
        with DatasetLock.acquire(dataset):
            build.commit(rework=...)                    # catch up and switch

    ``base`` is the generation current at :meth:`begin` and ``base_files`` its files then.
    A source of a merged file gone from the base before :meth:`commit` (quarantined by a
    crawl) must not come back: ``rework`` is called under the lock with those files and
    rebuilds what held them (:meth:`replace_merged`); without it the commit fails.
    """

    dataset: Path
    base: Path
    base_files: set[DatasetFile]
    directory: Path
    _building_fd: int
    linked: set[str] = field(default_factory=set)
    sources: dict[str, set[DatasetFile]] = field(default_factory=dict)
    committed: bool = False
    _caught_up: int = 0
    _dropped: int = 0
    _last_added: set[DatasetFile] = field(default_factory=set)
    _listed: set[DatasetFile] | None = None
    """The base's files at the last catch-up."""

    @classmethod
    def begin(cls, dataset: Path) -> GenerationBuild:
        """Start the next generation of a migrated ``dataset``."""
        stable = stable_path(dataset)
        if not is_linked(stable):
            raise GenerationError(errno.EINVAL, f"{stable} is not migrated to generations")
        base = current(stable)
        gens = generations_dir(stable)
        generation = new_id()
        building = gens / f"{generation}{BUILDING_SUFFIX}"
        fd = os.open(building, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        _try_lock(fd)
        directory = gens / generation
        try:
            directory.mkdir()
            files = published_files(base)
        except BaseException:
            os.close(fd)
            raise
        return cls(stable, base, files, directory, fd)

    @property
    def generation(self) -> str:
        return self.directory.name

    def link(self, file: DatasetFile) -> None:
        """Keep ``file`` of the base in the new generation as it is."""
        link_or_copy(self.base / file.path, self.directory / file.path)
        self.linked.add(file.path)

    def merged(self, relative: str, sources: Iterable[DatasetFile]) -> None:
        """The new file ``relative`` holds the rows of ``sources`` (files of the base)."""
        self.sources[relative] = set(sources)

    def replace_merged(self, relative: str) -> None:
        """Forget the new file ``relative`` (a rework writes its replacement)."""
        (self.directory / relative).unlink(missing_ok=True)
        self.sources.pop(relative, None)

    def commit(
        self,
        rework: Callable[[set[DatasetFile]], None] | None = None,
        *,
        wait: float = SWITCH_WAIT,
    ) -> Switched:
        """Catch up with the base and switch the link to this generation. Call under the
        dataset lock. GenerationChanged when another generation became current meanwhile;
        PublishesBusy when publications held the publish lock ``wait`` seconds.

        Two catch-ups: the first while publishers without the dataset lock (distributed
        workers) go on, the second, of what they published since, under the publish lock
        held exclusive until the link is switched; a publication waits only for that."""
        stable = self.dataset
        self._check_base()
        # from the last listing: a commit that gave up (PublishesBusy) may be called again
        seen = self._catch_up(self._listed or self.base_files, rework)
        _sync_tree(self.directory)
        gens = generations_dir(stable)
        previous = generation_id(self.base)
        with PublishLock(stable) as lock, lock.exclusive(wait):
            pause_for_test(PAUSE_ENV, "publish-locked")
            self._check_base()
            self._catch_up(seen, rework, _listing_since(self.base, seen))
            for directory in sorted({(self.directory / f.path).parent for f in self._last_added}):
                # the links of the last catch-up (their directories may be new)
                for parent in (directory, *directory.parents):
                    _fsync_dir(parent)
                    if parent == self.directory:
                        break
            if previous is not None:
                # before the switch: a kill right after it must not leave the old generation
                # unmarked, where it would pass for a killed build and go at once
                _retire(gens, previous)
            _point(stable, self.generation)
        self.committed = True
        self._release_building()
        (gens / f"{self.generation}{BUILDING_SUFFIX}").unlink(missing_ok=True)
        return Switched(self.generation, previous, self._caught_up, self._dropped)

    def _check_base(self) -> None:
        if current(self.dataset) != self.base:
            raise GenerationChanged(
                errno.ESTALE, f"{self.dataset} switched generation during the build: built again"
            )

    def _catch_up(
        self,
        known: set[DatasetFile],
        rework: Callable[[set[DatasetFile]], None] | None,
        now_files: set[DatasetFile] | None = None,
    ) -> set[DatasetFile]:
        """Make the build hold what the base holds now (``now_files``, else listed here)
        that it did not when ``known`` was listed: files added are linked in, files gone are
        dropped (merged ones reworked). The base's files now."""
        if now_files is None:
            now_files = published_files(self.base)
        gone = known - now_files
        gone_merged = {f for f in gone if any(f in s for s in self.sources.values())}
        if gone_merged:
            if rework is None:
                raise GenerationError(
                    errno.ESTALE,
                    f"{len(gone_merged)} files were removed from {self.dataset} during the build",
                )
            rework(gone_merged)
        for file in gone:
            if file.path in self.linked:
                (self.directory / file.path).unlink(missing_ok=True)
                self.linked.discard(file.path)
        self._dropped += len(gone)
        added = sorted(now_files - known)
        for file in added:
            self.link(file)
        self._caught_up += len(added)
        self._last_added = set(added)
        self._listed = now_files
        return now_files

    def abandon(self) -> None:
        """Delete the unfinished generation (never the current one)."""
        if not self.committed:
            shutil.rmtree(self.directory, ignore_errors=True)
            gens = self.directory.parent
            (gens / f"{self.generation}{BUILDING_SUFFIX}").unlink(missing_ok=True)
        self._release_building()

    def _release_building(self) -> None:
        if self._building_fd >= 0:
            fd, self._building_fd = self._building_fd, -1
            os.close(fd)


def _listing_since(root: Path, known: set[DatasetFile]) -> set[DatasetFile]:
    """:func:`published_files` of ``root`` when ``known`` was listed a moment ago: only the
    names are listed, only new names are stat'ed (a published file is never rewritten in
    place). The switch's last catch-up, with publications held off, is this listing: a
    tenth of a full one on 17,000 files."""
    by_path = {f.path: f for f in known}
    found: set[DatasetFile] = set()
    for relative in _published_names(root):
        file = by_path.get(relative)
        if file is None:
            try:
                stat = os.stat(root / relative)
            except FileNotFoundError:
                continue
            file = DatasetFile(relative, stat.st_size, stat.st_mtime_ns)
        found.add(file)
    return found


def _published_names(root: Path) -> set[str]:
    """The relative paths :func:`published_files` lists (same rules), without a stat."""
    names: set[str] = set()
    stack = [("", str(root))]
    while stack:
        prefix, directory = stack.pop()
        try:
            entries = os.scandir(directory)
        except FileNotFoundError:
            continue
        with entries:
            for entry in entries:
                name = entry.name
                if name.startswith((".", "_")):
                    continue
                if entry.is_dir():
                    if not entry.is_symlink():
                        stack.append((f"{prefix}{name}/", entry.path))
                elif name.endswith(".parquet"):
                    names.add(prefix + name)
    return names


def _sync_tree(root: Path) -> None:
    """fsync every directory of a built generation: its links and files survive a crash
    that comes after the switch."""
    for dirpath, _dirs, _files in os.walk(root):
        _fsync_dir(Path(dirpath))
