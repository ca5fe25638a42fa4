"""What a write records, on both roles: session events (``events``) turn each flushed change into
operations (``rowops``), written in the same transaction to the node's outbox (``outbox``) or to
central's change log (``changelog``), numbered in commit order (``counters``); records that change
place (``moves``)."""
