"""Backups of an installation: ``fieldapp backup`` / ``fieldapp restore`` and the WAL checkpoint
a service runs when it stops (``fieldapp db checkpoint``)."""
