"""Compliance: the agreement cycle's compliance domain."""
