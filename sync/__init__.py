"""The sync engine between field nodes and central (protocol, outbox, apply, client, server).

It never imports ``fieldapp``: the app registers its tables with the engine when it starts
(``sync.engine.SyncEngine().init_app``, like an extension's). Grouped by side: ``capture``
(both roles), ``node``, ``central``, ``storage``; the module table is in ``sync/README.md``.
"""
