"""Join PDFs made by reportlab into one PDF, written as it goes (memory stays flat).

reportlab keeps a whole document in memory until it saves, so a batch of thousands of
agreements is rendered in small parts (a few dozen agreements each) and each part's objects are
copied, renumbered, into the output as soon as it is ready. Only the byte offset of every object
and the page-tree leaves are remembered until the end (8 bytes per object).

This reads reportlab's own output (classic cross-reference table, no object streams, streams
after their dictionary); it is not a general PDF merger.
"""

from __future__ import annotations

import re
from array import array
from typing import BinaryIO

HEADER = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
CATALOG, ROOT_PAGES, INFO = 1, 2, 3
LEAF_SIZE = 64

_REF = re.compile(rb"(\d+) 0 R")
_OBJ = re.compile(rb"(\d+) 0 obj\s*")
_STREAM = re.compile(rb">>\s*stream\r?\n")
_PARENT = re.compile(rb"/Parent \d+ 0 R")
_LENGTH = re.compile(rb"/Length (\d+)(?!\d)(?!\s+\d+\s+R)")


class PdfFormatError(ValueError):
    """A part that is not the kind of PDF this writer joins."""


def _pdf_string(text: str) -> bytes:
    """A PDF text string (UTF-16 with BOM, hex) for the document information."""
    return b"<feff" + text.encode("utf-16-be").hex().encode() + b">"


class PdfStreamWriter:
    """Append reportlab PDFs to ``out`` page by page; :meth:`close` writes the page tree,
    cross-reference table and trailer."""

    def __init__(self, out: BinaryIO, title: str = "", author: str = "") -> None:
        self.out = out
        self.title = title
        self.author = author
        self.pos = 0
        self.offsets = array("Q", [0, 0, 0, 0])  # object 0 (free), catalog, pages, info
        self.leaves = array("Q")
        self.leaf_kids = array("Q")
        self.leaf_number = 0
        self.pages = 0
        self._write(HEADER)

    def _write(self, data: bytes) -> None:
        self.out.write(data)
        self.pos += len(data)

    def _new_number(self) -> int:
        self.offsets.append(0)
        return len(self.offsets) - 1

    def _start_object(self, number: int) -> None:
        self.offsets[number] = self.pos
        self._write(b"%d 0 obj\n" % number)

    def _leaf_for_next_page(self) -> int:
        if not self.leaf_number or len(self.leaf_kids) >= LEAF_SIZE:
            self._flush_leaf()
            self.leaf_number = self._new_number()
        return self.leaf_number

    def _flush_leaf(self) -> None:
        if not self.leaf_number or not self.leaf_kids:
            return
        kids = b" ".join(b"%d 0 R" % k for k in self.leaf_kids)
        self._start_object(self.leaf_number)
        self._write(b"<< /Type /Pages /Parent %d 0 R /Count %d /Kids [ %s ] >>\nendobj\n"
                    % (ROOT_PAGES, len(self.leaf_kids), kids))
        self.leaves.append(self.leaf_number)
        self.leaf_kids = array("Q")

    def append(self, pdf: bytes) -> int:
        """Copy every page of ``pdf`` (made by reportlab) to the output; returns the page count.

        :raises PdfFormatError: when ``pdf`` is not laid out as reportlab writes it.
        """
        offsets, root, info = _read_xref(pdf)
        pages_number = _ref_after(_object_parts(pdf, offsets, root)[0], b"/Pages")
        pages_head = _object_parts(pdf, offsets, pages_number)[0]
        kids = [int(n) for n in _REF.findall(_between(pages_head, b"/Kids", b"]"))]
        skip = {root, info, pages_number}
        mapping = {old: self._new_number() for old in sorted(offsets) if old not in skip}

        def renumber(match: re.Match[bytes]) -> bytes:
            old = int(match.group(1))
            if old not in mapping:
                raise PdfFormatError(f"reference to object {old} that is not copied")
            return b"%d 0 R" % mapping[old]

        page_set = set(kids)
        for old, new in mapping.items():
            if old in page_set:
                continue  # written below, in page order, each with its leaf as parent
            head, tail = _object_parts(pdf, offsets, old)
            self._start_object(new)
            self._write(_REF.sub(renumber, head) + tail + b"\nendobj\n")
        for old in kids:
            head, _tail = _object_parts(pdf, offsets, old)
            head = _REF.sub(renumber, _PARENT.sub(b"", head))
            leaf = self._leaf_for_next_page()
            self._start_object(mapping[old])
            self._write(head.replace(b"<<", b"<< /Parent %d 0 R" % leaf, 1) + b"\nendobj\n")
            self.leaf_kids.append(mapping[old])
            self.pages += 1
        return len(kids)

    def close(self) -> None:
        """Write the page tree, the catalog, the information, the xref table and the trailer."""
        self._flush_leaf()
        kids = b" ".join(b"%d 0 R" % n for n in self.leaves)
        self._start_object(ROOT_PAGES)
        self._write(b"<< /Type /Pages /Count %d /Kids [ %s ] >>\nendobj\n" % (self.pages, kids))
        self._start_object(CATALOG)
        self._write(b"<< /Type /Catalog /Pages %d 0 R >>\nendobj\n" % ROOT_PAGES)
        self._start_object(INFO)
        self._write(b"<< /Title %s /Author %s /Creator (fieldapp) /Producer (fieldapp) >>\n"
                    b"endobj\n" % (_pdf_string(self.title), _pdf_string(self.author)))
        xref_at = self.pos
        lines = [b"xref\n0 %d\n" % len(self.offsets), b"0000000000 65535 f \n"]
        lines += [b"%010d 00000 n \n" % offset for offset in self.offsets[1:]]
        self._write(b"".join(lines))
        self._write(b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n"
                    % (len(self.offsets), CATALOG, INFO, xref_at))


def _read_xref(pdf: bytes) -> tuple[dict[int, int], int, int]:
    """Object offsets from the classic xref table, and the Root and Info object numbers."""
    try:
        start = int(pdf[pdf.rindex(b"startxref") + 9:].split()[0])
        if not pdf.startswith(b"xref", start):
            raise PdfFormatError("no classic cross-reference table")
        lines = pdf[start:pdf.index(b"trailer", start)].split(b"\n")
        first, count = (int(x) for x in lines[1].split())
        offsets = {}
        for index, line in enumerate(lines[2 : 2 + count]):
            parts = line.split()
            if len(parts) >= 3 and parts[2] == b"n":
                offsets[first + index] = int(parts[0])
        trailer = pdf[pdf.index(b"trailer", start):]
        return offsets, _ref_after(trailer, b"/Root"), _ref_after(trailer, b"/Info")
    except (ValueError, IndexError) as error:
        raise PdfFormatError(f"unreadable PDF: {error}") from error


def _object_parts(pdf: bytes, offsets: dict[int, int], number: int) -> tuple[bytes, bytes]:
    """Object ``number`` as (head, tail): its dictionary (or value), and for a stream the
    ``stream ... endstream`` part, copied byte for byte."""
    at = offsets[number]
    match = _OBJ.match(pdf, at)
    if not match or int(match.group(1)) != number:
        raise PdfFormatError(f"object {number} is not where the xref says")
    start = match.end()
    endobj = pdf.index(b"endobj", start)  # a dictionary never holds "endobj"
    stream = _STREAM.search(pdf, start, endobj)
    if not stream:
        return pdf[start:endobj].rstrip(), b""
    head = pdf[start : stream.start() + 2]
    length = _LENGTH.search(head)
    if not length:
        raise PdfFormatError(f"stream {number} without a direct /Length")
    data_start = stream.end()
    data = pdf[data_start : data_start + int(length.group(1))]
    return head, b"\nstream\n" + data + b"\nendstream"


def _ref_after(data: bytes, key: bytes) -> int:
    match = re.search(re.escape(key) + rb"\s+(\d+) 0 R", data)
    if not match:
        raise PdfFormatError(f"no {key.decode()} reference")
    return int(match.group(1))


def _between(data: bytes, start: bytes, end: bytes) -> bytes:
    i = data.index(start)
    return data[i : data.index(end, i)]
