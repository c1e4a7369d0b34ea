"""What a distributed crawl is configured with, and the names of its keys in Redis."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Self

from scrapy.exceptions import NotConfigured

from crawler.defaults import get_float, get_str

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings


URL_SETTING = "SMN_REDIS_URL"
LEASE_META = "smn_lease"
CRAWL_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
WORKER_SUFFIX = re.compile(r"-w(\d+)$")


def redis_url(settings: BaseSettings) -> str | None:
    """``SMN_REDIS_URL`` from the settings, else from the environment; None when unset."""
    return settings.get(URL_SETTING) or os.environ.get(URL_SETTING) or None


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True, slots=True)
class DistributedConfig:
    url: str
    crawl: str
    idle_seconds: float
    heartbeat_seconds: float
    worker_timeout: float
    checkpoint_seconds: float
    dataset_scope: str | None

    @classmethod
    def from_settings(cls, settings: BaseSettings, spider_name: str) -> Self:
        """The configuration, or NotConfigured when ``SMN_REDIS_URL`` is unset."""
        url = redis_url(settings)
        if not url:
            raise NotConfigured(f"{URL_SETTING} is unset: not a distributed crawl")
        crawl = get_str(settings, "SMN_REDIS_CRAWL") or spider_name
        if not CRAWL_NAME.match(crawl):
            raise ValueError(f"SMN_REDIS_CRAWL must match {CRAWL_NAME.pattern}, got {crawl!r}")
        config = cls(
            url=url,
            crawl=crawl,
            idle_seconds=get_float(settings, "SMN_REDIS_IDLE_SECONDS"),
            heartbeat_seconds=get_float(settings, "SMN_REDIS_HEARTBEAT_SECONDS"),
            worker_timeout=get_float(settings, "SMN_REDIS_WORKER_TIMEOUT"),
            checkpoint_seconds=get_float(settings, "SMN_REDIS_CHECKPOINT_SECONDS"),
            dataset_scope=get_str(settings, "SMN_REDIS_DATASET_SCOPE") or None,
        )
        if config.heartbeat_seconds <= 0 or config.idle_seconds < 0:
            raise ValueError("SMN_REDIS_HEARTBEAT_SECONDS must be > 0, IDLE_SECONDS >= 0")
        if config.worker_timeout < 3 * config.heartbeat_seconds:
            raise ValueError(
                "SMN_REDIS_WORKER_TIMEOUT must be at least 3 x SMN_REDIS_HEARTBEAT_SECONDS"
            )
        if config.checkpoint_seconds <= 0:
            raise ValueError("SMN_REDIS_CHECKPOINT_SECONDS must be > 0")
        return config


@dataclass(frozen=True, slots=True)
class CrawlKeys:
    """The Redis keys of one crawl (docs/distributed.md lists what each holds)."""

    crawl: str

    @property
    def prefix(self) -> str:
        return f"{self.crawl}:"

    def key(self, name: str) -> str:
        return f"{self.crawl}:{name}"

    @property
    def requests(self) -> str:
        return self.key("requests")

    @property
    def dupefilter(self) -> str:
        return self.key("dupefilter")

    @property
    def workers(self) -> str:
        return self.key("workers")

    @property
    def idle(self) -> str:
        return self.key("idle")

    @property
    def claims(self) -> str:
        return self.key("claims")

    @property
    def stories(self) -> str:
        return self.key("stories")

    @property
    def seed(self) -> str:
        return self.key("seed")

    @property
    def run(self) -> str:
        return self.key("run")

    @property
    def seq(self) -> str:
        return self.key("seq")

    @property
    def entry_fetched(self) -> str:
        return self.key("entry_fetched")

    @property
    def state(self) -> str:
        """Prefix of the incremental state (kept across crawls)."""
        return self.key("state")

    def alive(self, worker: str) -> str:
        return self.key(f"alive:{worker}")

    def leases(self, worker: str) -> str:
        return self.key(f"leases:{worker}")

    def pending_claims(self, worker: str) -> str:
        return self.key(f"pclaims:{worker}")

    def publishing(self, worker: str) -> str:
        return self.key(f"publishing:{worker}")

    def crawl_keys(self) -> list[str]:
        """What a finished crawl leaves behind and the last worker deletes."""
        return [
            self.requests,
            self.dupefilter,
            self.seed,
            self.run,
            self.seq,
            self.claims,
            self.stories,
            self.idle,
            self.entry_fetched,
            self.workers,
        ]
