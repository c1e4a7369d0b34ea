"""DOWNLOAD_HANDLERS of a run that must not touch the network (``scrapy reextract``).

Every request a re-extraction makes is answered from the WARC archive by the replay
middleware (:mod:`crawler.downloadermiddlewares.archive_replay`) before it reaches a
download handler; one that gets here anyway (a middleware's own request, a bug) is refused,
logged and counted (``smn/reextract/refused``), never sent: no byte leaves for any host.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from scrapy.core.downloader.handlers.base import BaseDownloadHandler

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.http import Response

logger = logging.getLogger(__name__)

OFFLINE_HANDLER = "crawler.offline.OfflineDownloadHandler"


class NetworkRefused(Exception):
    """A request a run without network access would have sent."""


class OfflineDownloadHandler(BaseDownloadHandler):
    """Refuses every request."""

    lazy = False

    async def download_request(self, request: Request) -> Response:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value("smn/reextract/refused")
        logger.error("Refused <%s>: a re-extraction makes no network request", request.url)
        raise NetworkRefused(f"no network access in this run: {request.url}")
