"""Central's answers to the field node: a push page waiting for its answer, and answers checked for
their shape before the node acts on them (numbers a column holds, refusals with number and code,
pulled pages with a cursor and tables of rows). An answer of the wrong shape stops the sync with
``bad_response``.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from sync import errors
from sync.node.transport import Transport
from sync.storage.codec import INT_MAX


def answer_number(answer: dict[str, Any], key: str, default: int | None = None) -> int:
    """``answer[key]`` as a whole number of 0 or more that a column holds (``true`` is not
    one); else the answer is refused."""
    value = answer.get(key, default)
    if type(value) is not int or not 0 <= value <= INT_MAX:
        raise errors.BadResponse(f"Central's answer gives no number as {key!r}.")
    return value


def answer_refusals(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """The operations central refused (``rejected``), each with its number and code."""
    rejected = answer.get("rejected") or []
    if not isinstance(rejected, list) or not all(
            isinstance(r, dict) and type(r.get("s")) is int and isinstance(r.get("code"), str)
            and isinstance(r.get("message", ""), str | None) for r in rejected):
        raise errors.BadResponse("Central's answer lists refusals without number or code.")
    return rejected


def fetch_page(transport: Transport, body: dict[str, Any]) -> dict[str, Any]:
    """One pull request: the page, checked to carry a cursor and tables of rows (the values
    themselves are checked as they are applied)."""
    page = transport.post("/pull", body)
    answer_number(page, "c")
    if "s" in page:
        answer_number(page, "s")
    tables = page.get("t")
    if not isinstance(tables, list) or not all(map(_is_block, tables)):
        raise errors.BadResponse("The page has no cursor or no tables of rows.")
    return page


def _is_block(block: Any) -> bool:
    """Whether a page's block has the shape ``{"n": table, "k": columns, "r": rows with a
    value per column, "x"?: deleted ids}``."""
    if not (isinstance(block, dict) and isinstance(block.get("n"), str)
            and isinstance(block.get("k"), list) and isinstance(block.get("r"), list)
            and isinstance(block.get("x", []), list)):
        return False
    width = len(block["k"])
    return (all(type(c) is str for c in block["k"])
            and all(type(r) is list and len(r) == width for r in block["r"]))


@dataclass
class Flight:
    """A push page sent, waiting for its answer."""

    lines: list[bytes]
    first: int
    last: int
    link: Transport
    request: Future[dict[str, Any]]
    #: Sent while the page before it was still waiting for its answer.
    ahead: bool
    #: When it was sent (``time.monotonic()``).
    sent_at: float
