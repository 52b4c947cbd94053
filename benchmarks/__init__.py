"""Benchmarks of the pipeline against the naive flow it replaces, from one month to hundreds of times its size."""
