"""The project's downloader middlewares (``DOWNLOADER_MIDDLEWARES`` in crawler/settings.py)."""
