"""Scrapy project for the Space Media Network crawler."""
