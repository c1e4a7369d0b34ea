"""Scrapy settings of the SMN crawler.

Project settings all start with ``SMN_``; the README lists them. The defaults are polite
(robots.txt, AutoThrottle, two requests at a time per site) and quiet (no listening port).
"""

from __future__ import annotations

BOT_NAME = "smn"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

# Who we are, and where a site owner reads about us.
USER_AGENT = "smn-crawler/0.1 (+https://github.com/smn-crawler/smn-crawler; news research)"

# Politeness.
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 0.5
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

# Limits: no page is worth more than this, compressed or not (gzip bombs included).
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 8 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
REDIRECT_MAX_TIMES = 5
RETRY_TIMES = 2
METAREFRESH_ENABLED = False

# A crawler run from cron listens on no port.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

# One request per canonical URL (http/https, www or not, trailing slash, tracking parameters).
REQUEST_FINGERPRINTER_CLASS = "crawler.fingerprint.CanonicalRequestFingerprinter"
# Its fingerprints on disk, not in a set that grows with the crawl.
DUPEFILTER_CLASS = "crawler.dupefilters.ScratchDupeFilter"
# The requests waiting to be fetched on disk too (SMN_DISK_QUEUE).
SCHEDULER = "crawler.scheduler.DiskQueueScheduler"
# Scrapy's stats without its check on every attribute read (crawler/statscollectors.py).
STATS_CLASS = "crawler.statscollectors.LeanStatsCollector"

# Every component in one literal per kind, in priority order; the stock neighbours (Scrapy's
# *_BASE dicts) in comments. Requests pass downloader middlewares from low numbers to high,
# responses from high to low.
DOWNLOADER_MIDDLEWARES = {
    # Replaces the stock OffsiteMiddleware at 50: every request and every redirect hop is
    # checked against the allowed hosts and ports, whatever dont_filter says.
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
    "crawler.downloadermiddlewares.allowed_hosts.AllowedHostsMiddleware": 50,
    # RobotsTxtMiddleware 100 ... RetryMiddleware 550
    # Replaces the stock HttpCompressionMiddleware: counts bodies inflating past
    # DOWNLOAD_MAXSIZE (gzip bombs), which Scrapy drops without a stat.
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
    "crawler.downloadermiddlewares.faults.CountingHttpCompressionMiddleware": 590,
    # Replaces the stock RedirectMiddleware: counts chains given up at REDIRECT_MAX_TIMES.
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
    "crawler.downloadermiddlewares.faults.CountingRedirectMiddleware": 600,
    # Sees a 3xx before the redirect middleware does: remembers it, and drops follow-ups
    # whose target the incremental state knows.
    "crawler.downloadermiddlewares.incremental.IncrementalRedirectMiddleware": 610,
    # Before the redirect middleware in the response chain: a redirect to another spelling
    # of the same URL is not a duplicate of itself.
    "crawler.downloadermiddlewares.canonical_redirect.SameCanonicalRedirectMiddleware": 650,
    # CookiesMiddleware 700, HttpProxyMiddleware 750, DownloaderStats 850
    # Above DownloaderStats, so it sees every download exception (smn/faults/<kind>) before
    # RetryMiddleware turns it into a retry.
    "crawler.downloadermiddlewares.faults.FaultCounters": 860,
    # Above every middleware that changes a response on its way back: each answer into the
    # WARC archive as the download handler gave it (body still content-encoded, redirects
    # and 404s included), with the request as the middlewares below finished it.
    "crawler.downloadermiddlewares.warc.WarcArchiveMiddleware": 880,
    # HttpCacheMiddleware 900
}
SPIDER_MIDDLEWARES = {
    # HttpErrorMiddleware 50, RefererMiddleware 700, UrlLengthMiddleware 800, DepthMiddleware 900
    # The layout watch's per-site counts (smn/site/<site>/...).
    "crawler.spidermiddlewares.layout_watch.LayoutWatchCounts": 920,
    # Nearest the spider: links to pages earlier runs stored or found not worth fetching are
    # dropped before the other middlewares count them; the rest are kept pending.
    "crawler.spidermiddlewares.incremental.IncrementalSpiderMiddleware": 950,
    # Nearer still: links whose request the duplicate filter took already are dropped
    # before anything else spends time on them.
    "crawler.spidermiddlewares.seen_requests.SeenRequestsMiddleware": 990,
}
# Validation first (dedup must not remember a dropped record), the dataset writer last (it
# stores duplicate_of, which dedup sets).
ITEM_PIPELINES = {
    # The run's id on every record (the one place that stamps it).
    "pipelines.crawl_id.CrawlIdPipeline": 50,
    "pipelines.validation.ValidationPipeline": 100,
    "pipelines.dedup.DedupPipeline": 200,
    # story_id: near copies grouped across sites, runs and workers (after dedup's duplicate_of).
    "pipelines.stories.StoriesPipeline": 300,
    "pipelines.parquet_writer.ParquetDatasetPipeline": 900,
}
EXTENSIONS = {
    # Stats the exit code needs and Scrapy does not keep (entry points, pipeline errors).
    "crawler.extensions.run_counters.RunCounters": 500,
    # output/reports/<crawl_id>.json; SMN_REPORTS="" turns it off.
    "crawler.extensions.run_report.RunReport": 900,
}
# Does nothing unless SMN_REDIS_URL is set (a setting or an environment variable); then this
# process is one worker of a crawl whose frontier, duplicate filter, incremental state and
# article claims are in that Redis (crawler/distributed/, docs/distributed.md).
ADDONS = {"crawler.distributed.addon.RedisAddon": 0}
# `scrapy crawl smn -O articles.parquet`; must be a project setting, -O checks it early.
FEED_EXPORTERS = {"parquet": "pipelines.feed_exporter.ParquetItemExporter"}
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
# The project's `crawl` command replaces Scrapy's: it locks the dataset, and its exit code
# and last line say whether the run succeeded (crawler/outcome/judge.py).
COMMANDS_MODULE = "crawler.commands"

# The project's own settings (SMN_*) are declared, with their defaults and meaning, in
# crawler/defaults.py (the README's tables are made from it); set them here or with -s.

# --- Throughput (benchmarks/throughput.py, README "Benchmarks") --------------------------
# Scrapy handles each response's output with CONCURRENT_ITEMS asyncio tasks (100 by
# default), created per response whatever it yields; our callbacks yield one item and a
# handful of new links, and the pipelines are synchronous, so 8 lose nothing and save about
# a third of the crawler process's CPU (measured: 64 -> 90 pages/s on the 2-core machine).
CONCURRENT_ITEMS = 8
