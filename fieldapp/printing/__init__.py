"""PDF builders (pure: data in, bytes out) and QR helpers."""
