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
the path). A crawl that does not take the lock (distributed workers) never migrates: it
writes into whatever the path holds, plain directory or link.

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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from crawler.dataset.files import DatasetFile, _fsync_dir, _try_lock, published_files

logger = logging.getLogger(__name__)

GEN_SUFFIX = ".gen"
RETIRED_SUFFIX = ".retired"
BUILDING_SUFFIX = ".building"
SWITCH_SUFFIX = ".switch"
_TMP_SUFFIXES = (".tmp",)


class GenerationError(OSError):
    """A generation could not be built, switched or migrated."""


class GenerationChanged(GenerationError):
    """The current generation is no longer the one a build started from."""


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
    gens = generations_dir(stable)
    gens.mkdir(parents=True, exist_ok=True)
    generation = new_id()
    target = gens / generation
    if not os.path.lexists(stable):
        target.mkdir()
        _point(stable, generation)
        return target
    if not stable.is_dir() or stable.is_symlink():
        # a file, or a link of the user's to something else: not ours to move; the writer
        # says it cannot write there
        return stable
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

    def commit(self, rework: Callable[[set[DatasetFile]], None] | None = None) -> Switched:
        """Catch up with the base and switch the link to this generation. Call under the
        dataset lock. GenerationChanged when another generation became current meanwhile."""
        stable = self.dataset
        if current(stable) != self.base:
            raise GenerationChanged(
                errno.ESTALE, f"{stable} switched generation during the build: built again"
            )
        now_files = published_files(self.base)
        gone = self.base_files - now_files
        gone_merged = {f for f in gone if any(f in s for s in self.sources.values())}
        if gone_merged:
            if rework is None:
                raise GenerationError(
                    errno.ESTALE,
                    f"{len(gone_merged)} files were removed from {stable} during the build",
                )
            rework(gone_merged)
        for file in gone:
            if file.path in self.linked:
                (self.directory / file.path).unlink(missing_ok=True)
                self.linked.discard(file.path)
        added = sorted(now_files - self.base_files)
        for file in added:
            self.link(file)
        _sync_tree(self.directory)
        previous = generation_id(self.base)
        gens = generations_dir(stable)
        if previous is not None:
            # before the switch: a kill right after it must not leave the old generation
            # unmarked, where it would pass for a killed build and go at once
            _retire(gens, previous)
        _point(stable, self.generation)
        self.committed = True
        self._release_building()
        (gens / f"{self.generation}{BUILDING_SUFFIX}").unlink(missing_ok=True)
        return Switched(self.generation, previous, len(added), len(gone))

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


def _sync_tree(root: Path) -> None:
    """fsync every directory of a built generation: its links and files survive a crash
    that comes after the switch."""
    for dirpath, _dirs, _files in os.walk(root):
        _fsync_dir(Path(dirpath))
