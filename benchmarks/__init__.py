"""Benchmarks of the STEDI lakehouse: `python -m benchmarks.run` (see benchmarks/README.md)."""
