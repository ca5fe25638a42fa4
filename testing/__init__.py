"""Helpers for tests and benchmarks (not shipped: setuptools packages only ``fieldapp`` and
``sync``)."""
