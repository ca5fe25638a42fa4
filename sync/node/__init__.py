"""The field node's side of sync: its bookkeeping (``local``), the connection to central
(``transport``), one sync (``client``, ``answers``), pulled pages applied (``apply_pull``) and the
loop beyond one sync (``runner``). Never imported by ``sync.central``."""
