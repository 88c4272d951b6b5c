"""Benchmarks: commands that print tables and write ``bench-results/*.json``."""
