"""Where the dataset, the incremental state and the run reports are, from the settings."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from crawler.defaults import default, get_str

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

STATE_NAME = "state.sqlite"
REPORTS_NAME = "reports"


def dataset_dir(settings: BaseSettings) -> Path | None:
    """The dataset directory (``SMN_OUTPUT``); None when the writer is off (empty)."""
    output = get_str(settings, "SMN_OUTPUT")
    return Path(output) if output else None


def reports_dir(settings: BaseSettings) -> Path | None:
    """Where reports go: ``SMN_REPORTS``, else ``reports`` beside the dataset directory;
    None when ``SMN_REPORTS`` is the empty string."""
    configured = get_str(settings, "SMN_REPORTS")
    if configured is None:
        output = get_str(settings, "SMN_OUTPUT") or default("SMN_OUTPUT")
        return Path(output).parent / REPORTS_NAME
    return Path(configured) if configured else None


def state_path(settings: BaseSettings) -> Path | None:
    """The incremental state: ``SMN_STATE``, else ``state.sqlite`` beside the dataset
    directory; None when ``SMN_STATE`` is the empty string or there is no dataset."""
    dataset = dataset_dir(settings)
    configured = get_str(settings, "SMN_STATE")
    if configured is None:
        return dataset.parent / STATE_NAME if dataset is not None else None
    return Path(configured) if configured else None
