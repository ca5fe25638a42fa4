"""Printing: PDF builders (pure: data in, bytes out), QR helpers, the print views
(``fieldapp.printing.views``) and central's public verification page.

The package itself imports nothing heavy: batch workers load only the builders.
"""
