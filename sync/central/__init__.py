"""Central's side of sync: the ``/sync/v1`` blueprint (``server``), the handshake (``handshake``),
bodies read (``intake``), push pages read (``page``) and applied (``apply``, ``bulk``, ``merge``),
pull pages made (``feed``). Never imported by ``sync.node``."""
