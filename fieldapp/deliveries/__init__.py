"""Deliveries: the agreement cycle's deliveries domain."""
