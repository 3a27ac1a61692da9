"""Benchmarks: ``make bench`` (= ``python -m tests.benchmarks``), against real PostgreSQL.

Not collected by pytest (pyproject's norecursedirs). Every figure is printed next to a baseline
measured in the same run, as a ratio; nothing is asserted.
"""
