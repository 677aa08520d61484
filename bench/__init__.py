"""Benchmarks against the Bot API sandbox (`make bench`)."""
