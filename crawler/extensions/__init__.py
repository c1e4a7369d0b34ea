"""The project's Scrapy extensions (``EXTENSIONS`` in crawler/settings.py)."""
