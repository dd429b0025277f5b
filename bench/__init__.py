"""Benchmarks: run with `make bench`, `make bench-extract`, `make bench-feeds`."""
