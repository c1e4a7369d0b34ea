"""Running the extractor (crawler.extract) off the reactor, in worker processes."""
