"""Audit log: every create, change, reversal, status transition and sanction."""
