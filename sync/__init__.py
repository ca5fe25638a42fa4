"""The sync engine between field nodes and central (protocol, outbox, apply, client, server).

It never imports ``fieldapp``: the app registers its tables with the engine when it starts
(like an extension's ``init_app``). The engine itself lands with the sync issue.
"""
