"""The project's spider middlewares (``SPIDER_MIDDLEWARES`` in crawler/settings.py)."""
