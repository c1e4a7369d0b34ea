"""The WARC archive: every page the crawl fetched, as it came off the wire; no Scrapy here.

Layout (the archive directory is ``warc/`` beside the dataset, ``SMN_ARCHIVE_DIR``)::

    <archive>/2026/12/05/<crawl_id>-00000.warc.gz   the records (one gzip member each)
    <archive>/2026/12/05/<crawl_id>-00000.cdxj      its index: one line per response record
    <archive>/index.sqlite                          the lookup cache of ``scrapy archived``

* :mod:`crawler.archive.writer`: :class:`~crawler.archive.writer.WarcArchive` writes
  ``warcinfo``, ``response`` and ``request`` records into a hidden file, and publishes it (its
  index first, then the file, by rename) at the size limit and whenever asked: the dataset
  writer asks before it publishes any Parquet file, so a published row always names a
  published WARC file.
* :mod:`crawler.archive.index`: the per-file index lines, the lookup cache built from them,
  and reading one record back (by filename, offset and length, as Common Crawl's index does).
"""
