"""Where the dataset, the incremental state, the run reports and the WARC archive are, from
the settings.

The defaults (``output/articles``, and the state, reports and ``warc/`` beside it) are
relative to the project directory, where ``scrapy.cfg`` is, as Scrapy finds it from any
subdirectory: a crawl started from ``logs/`` uses the same dataset. A path set by hand is
the user's: a relative one is taken from the current directory, as any command-line path
is.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from scrapy.utils.conf import closest_scrapy_cfg

from crawler.defaults import default, get_str

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

STATE_NAME = "state.sqlite"
REPORTS_NAME = "reports"
ARCHIVE_NAME = "warc"


def project_dir() -> Path | None:
    """The directory of the ``scrapy.cfg`` Scrapy uses (found upward from the current
    directory); None outside a project."""
    found = closest_scrapy_cfg()
    return Path(found).parent if found else None


def default_dataset_dir() -> Path:
    """``output/articles`` of the project (of the current directory outside one)."""
    relative = Path(default("SMN_OUTPUT"))
    project = project_dir()
    return project / relative if project is not None else relative


def dataset_dir(settings: BaseSettings) -> Path | None:
    """The dataset directory (``SMN_OUTPUT``); None when the writer is off (empty)."""
    output = settings.get("SMN_OUTPUT")
    if output is None:
        return default_dataset_dir()
    return Path(str(output)) if output else None


def reports_dir(settings: BaseSettings) -> Path | None:
    """Where reports go: ``SMN_REPORTS``, else ``reports`` beside the dataset directory;
    None when ``SMN_REPORTS`` is the empty string."""
    configured = get_str(settings, "SMN_REPORTS")
    if configured is None:
        return (dataset_dir(settings) or default_dataset_dir()).parent / REPORTS_NAME
    return Path(configured) if configured else None


def state_path(settings: BaseSettings) -> Path | None:
    """The incremental state: ``SMN_STATE``, else ``state.sqlite`` beside the dataset
    directory; None when ``SMN_STATE`` is the empty string or there is no dataset."""
    dataset = dataset_dir(settings)
    configured = get_str(settings, "SMN_STATE")
    if configured is None:
        return dataset.parent / STATE_NAME if dataset is not None else None
    return Path(configured) if configured else None


def archive_dir(settings: BaseSettings) -> Path:
    """Where the WARC archive goes: ``SMN_ARCHIVE_DIR``, else ``warc`` beside the dataset
    directory (``-s SMN_OUTPUT=/x/articles`` archives into ``/x/warc``)."""
    configured = get_str(settings, "SMN_ARCHIVE_DIR")
    if configured:
        return Path(configured)
    return (dataset_dir(settings) or default_dataset_dir()).parent / ARCHIVE_NAME
