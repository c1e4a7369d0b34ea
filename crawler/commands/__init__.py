"""Project commands (``COMMANDS_MODULE``): ``crawl`` replaces Scrapy's own, same options,
with an exit code that says whether the run succeeded (see :mod:`crawler.commands.crawl`)."""
