"""Agreements: the agreement cycle's agreements domain."""
