"""Project commands (``COMMANDS_MODULE``): ``crawl`` replaces Scrapy's own, same options,
with an exit code that says whether the run succeeded (see :mod:`crawler.commands.crawl`);
``verify`` reads every file of the dataset in full and quarantines the damaged ones (see
:mod:`crawler.commands.verify`); ``archived URL`` prints the page the WARC archive holds for
a URL (see :mod:`crawler.commands.archived`)."""
