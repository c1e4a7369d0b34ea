"""The crawl's stats without Scrapy's per-access check (``STATS_CLASS``).

Scrapy 2.19's ``StatsCollector.__getattribute__`` runs on every attribute read of the stats
object, its own ``self._stats`` included: it builds a name, fails a lookup (an exception
raised and caught) and wraps the public methods in a check that warns when a ``spider``
argument is passed. A page's handling reads the stats some 60 times (Scrapy's components
and ours), which made that check about 3% of a re-extraction's main thread. ``LeanStatsCollector``
is Scrapy's ``MemoryStatsCollector`` with Python's plain attribute lookup: the same stats,
the same methods, no deprecation warning for a ``spider`` argument (no component here
passes one).
"""

from __future__ import annotations

from scrapy.statscollectors import MemoryStatsCollector


class LeanStatsCollector(MemoryStatsCollector):
    """``MemoryStatsCollector`` with plain attribute lookup."""

    __getattribute__ = object.__getattribute__
