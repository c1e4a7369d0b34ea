"""Incremental runs: fetch only what earlier runs did not store or see."""
