"""Member barcodes rendered as SVG documents (python-barcode)."""

from __future__ import annotations

import io
from functools import lru_cache

import barcode
from barcode.errors import BarcodeError
from barcode.writer import SVGWriter


@lru_cache(maxsize=1024)
def barcode_svg(value: str) -> str | None:
    """EAN-13 when the value is a valid one, else Code 128; None when it cannot be drawn."""
    out = io.BytesIO()
    try:
        kind = "ean13" if len(value) == 13 and value.isdigit() and _ean13_valid(value) else "code128"
        barcode.get(kind, value, writer=SVGWriter()).write(out, options={"write_text": True})
    except (BarcodeError, ValueError):
        return None
    return out.getvalue().decode("utf-8")


def _ean13_valid(value: str) -> bool:
    digits = [int(c) for c in value]
    checksum = sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits[:12]))
    return (10 - checksum % 10) % 10 == digits[12]
