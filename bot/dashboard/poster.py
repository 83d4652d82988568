"""Campaign links and an A4 poster (PDF) with QR codes, made without extra dependencies but segno.

The PDF is written by hand: one page, the standard Helvetica fonts (no embedding), and each
QR module drawn as a filled square, so it prints sharp at any size. Only ASCII and Latin-1
text is used (cp1252), which covers Indonesian.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import segno

A4 = (595.28, 841.89)
MARGIN = 56

# Helvetica advance widths (per 1000 em) for ASCII 32..126, from the standard AFM metrics.
_WIDTHS = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
]  # fmt: skip


def qr_png(data: str, scale: int = 10) -> bytes:
    out = io.BytesIO()
    segno.make(data, error="m").save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


def _width(text: str, size: float, bold: bool = False) -> float:
    total = sum(_WIDTHS[ord(c) - 32] if 32 <= ord(c) <= 126 else 556 for c in text)
    return total * size / 1000 * (1.06 if bold else 1.0)


def _pdf_text(text: str) -> str:
    raw = text.encode("cp1252", errors="replace").decode("latin-1")
    return raw.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _wrap(text: str, size: float, width: float, bold: bool = False) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split():
        trial = f"{current} {word}".strip()
        if current and _width(trial, size, bold) > width:
            lines.append(current)
            current = word
        else:
            current = trial
    if current:
        lines.append(current)
    return lines


class _Page:
    def __init__(self) -> None:
        self.ops: list[str] = []

    def text(self, text: str, y: float, size: float, *, bold: bool = False, grey: bool = False) -> float:
        """Centred, wrapped text from baseline `y` downwards; returns the next free baseline."""
        width = A4[0] - 2 * MARGIN
        for line in _wrap(text, size, width, bold):
            x = (A4[0] - _width(line, size, bold)) / 2
            colour = "0.35 g" if grey else "0 g"
            self.ops.append(
                f"BT {colour} /{'F1' if bold else 'F2'} {size} Tf {x:.2f} {y:.2f} Td ({_pdf_text(line)}) Tj ET"
            )
            y -= size * 1.3
        return y

    def qr(self, data: str, x: float, top: float, size: float) -> None:
        qr = segno.make(data, error="m")
        rows = [list(row) for row in qr.matrix_iter(scale=1, border=2)]
        module = size / len(rows)
        squares = [
            f"{x + c * module:.2f} {top - (r + 1) * module:.2f} {module:.3f} {module:.3f} re"
            for r, row in enumerate(rows)
            for c, dark in enumerate(row)
            if dark
        ]
        self.ops.append("0 g " + " ".join(squares) + " f")

    def rule(self, y: float) -> None:
        self.ops.append(f"0.8 G 1 w {MARGIN} {y:.2f} m {A4[0] - MARGIN} {y:.2f} l S")


@dataclass(frozen=True)
class Event:
    """An outreach event the poster announces (all optional, as staff typed them)."""

    title: str = ""
    when: str = ""
    where: str = ""

    def __bool__(self) -> bool:
        return bool(self.title or self.when or self.where)


EVENT_FIELD_MAX = 120


def poster_pdf(code: str, links: list[tuple[str, str]], call_centre: str, event: Event | None = None) -> bytes:
    """An A4 page: the message, the event (when there is one), one QR code per link with its
    caption, the code. The QR codes take the height that is left, so the page is used whole."""
    page = _Page()
    y = A4[1] - 80
    y = page.text("Kerja keras, tetap terlindungi.", y, 34, bold=True)
    y = page.text(
        "Daftar BPJS Ketenagakerjaan untuk pekerja mandiri: ojek, pedagang, petani, nelayan, buruh harian "
        "dan lainnya. Tanya iuran, manfaat, dan cara daftar lewat chat.",
        y - 8,
        15,
    )
    if event:
        page.rule(y + 4)
        if event.title:
            y = page.text(event.title, y - 18, 24, bold=True)
        if event.when:
            y = page.text(f"Kapan: {event.when}", y - 2, 18)
        if event.where:
            y = page.text(f"Di mana: {event.where}", y - 2, 18)
    page.rule(y + 4)
    count = max(len(links), 1)
    bottom = 190  # the instruction, the code and the call centre below the codes
    size = min((A4[0] - 2 * MARGIN - (count - 1) * 40) / count, y - 40 - bottom, 330)
    gap = (A4[0] - count * size) / (count + 1)
    top = y - 24
    for i, (caption, url) in enumerate(links):
        x = gap + i * (size + gap)
        page.qr(url, x, top, size)
        page.ops.append(
            f"BT 0 g /F1 16 Tf {x + (size - _width(caption, 16, True)) / 2:.2f} {top - size - 22:.2f} Td "
            f"({_pdf_text(caption)}) Tj ET"
        )
    y = top - size - 70
    y = page.text("Pindai kode QR dengan kamera HP, lalu kirim pesannya.", y, 18, bold=True)
    y = page.text(f"Kode kampanye: {code}", y - 6, 14, grey=True)
    page.text(f"Butuh bantuan? Call centre BPJS Ketenagakerjaan {call_centre}", 56, 14, grey=True)
    return _document("\n".join(page.ops).encode("latin-1"))


def _document(content: bytes) -> bytes:
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {A4[0]} {A4[1]}] "
            "/Resources << /Font << /F1 4 0 R /F2 5 0 R >> >> /Contents 6 0 R >>"
        ).encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
