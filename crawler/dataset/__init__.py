"""The dataset on disk: the only code that knows its files."""
