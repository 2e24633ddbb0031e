"""Benchmarks, run by hand (not part of make test)."""
