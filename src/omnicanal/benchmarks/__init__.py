"""Benchmarks of the hub over real HTTP: order placement, availability reads and a hot-SKU race, on SQLite
and PostgreSQL, each against the raw-SQL ceiling of the same machine measured in the same run.

``omnicanal bench`` (see :mod:`omnicanal.benchmarks.cli`) runs them and writes ``bench/results/<name>.json``.
Nothing here is imported by the hub itself.
"""
