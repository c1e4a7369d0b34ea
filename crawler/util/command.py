"""What the project's maintenance commands (``verify``, ``compact``, ``health``,
``archived``) share: a Scrapy command of the project that runs no crawl and logs nothing
(its output is its own lines). Kept out of ``crawler/commands/``, where Scrapy would take any
command class for a command of its own."""

from __future__ import annotations

from typing import Any, ClassVar

from scrapy.commands import ScrapyCommand


class ProjectCommand(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings: ClassVar[dict[str, Any]] = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "[options]"
