"""Judging a finished run: pure functions of the crawl's stats, no Scrapy."""
