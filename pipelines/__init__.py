"""Item pipelines and Parquet output of the Space Media Network crawler.

Enable in the Scrapy settings (lower numbers run first)::

    ITEM_PIPELINES = {
        "pipelines.crawl_id.CrawlIdPipeline": 50,
        "pipelines.validation.ValidationPipeline": 100,
        "pipelines.dedup.DedupPipeline": 200,
        "pipelines.parquet_writer.ParquetDatasetPipeline": 900,
    }
    FEED_EXPORTERS = {"parquet": "pipelines.feed_exporter.ParquetItemExporter"}

Validation runs first so that dedup never records a URL whose record is then dropped,
and the writer runs last so that it stores ``duplicate_of`` as dedup set it. Feeds get
items after all pipelines, so ``-O articles.parquet`` holds the same records as the
dataset. Each module documents its ``SMN_*`` settings.
"""
