"""QR codes of ``otpauth://`` URIs (segno): SVG and PNG for the web, text for the terminal."""

from __future__ import annotations

import io

import segno


def qr_svg(uri: str) -> bytes:
    buf = io.BytesIO()
    segno.make(uri, error="m").save(buf, kind="svg", scale=4, border=2, xmldecl=False)
    return buf.getvalue()


def qr_png(uri: str) -> bytes:
    buf = io.BytesIO()
    segno.make(uri, error="m").save(buf, kind="png", scale=5, border=2)
    return buf.getvalue()


def qr_terminal(uri: str) -> str:
    """Half-block rendering that fits an 80-column terminal (two modules per character row)."""
    qr = segno.make(uri, error="l")
    rows = [[bool(v) for v in row] for row in qr.matrix_iter(scale=1, border=2)]
    if len(rows) % 2:
        rows.append([False] * len(rows[0]))
    chars = {(True, True): "█", (True, False): "▀", (False, True): "▄", (False, False): " "}
    out = []
    for top, bottom in zip(rows[0::2], rows[1::2], strict=True):
        out.append("".join(chars[(t, b)] for t, b in zip(top, bottom, strict=True)))
    return "\n".join(out)
