"""Re-extraction: the archived pages read again with today's extractor; no Scrapy here.

``scrapy reextract --into DIR`` (:mod:`crawler.commands.reextract`) runs a crawl of the
archive (the ``smn-archive`` spider, :mod:`crawler.spiders.archive`) whose requests are
answered from the WARC records (:mod:`crawler.downloadermiddlewares.archive_replay`) and
never reach the network; the crawl's own pipelines write the re-extracted rows. This
package holds what is not Scrapy:

* :mod:`crawler.reextract.source`: the current dataset (``SMN_OUTPUT``) as a map of one
  entry per page key (its row's digest, version, month and story fields), in a scratch file;
* :mod:`crawler.reextract.plan`: which archived records to read (the newest ``200`` HTML
  response of each page, oldest fetch first), after ``--months``/``--sites``/``--stale``;
* :mod:`crawler.reextract.output`: the next dataset built under a hidden name beside
  ``DIR``: the rows of pages not re-extracted carried over, a manifest, one rename.
"""
