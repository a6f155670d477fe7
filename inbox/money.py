"""Money amounts quantized to their currency's minor unit ("-12.50", "1200", "3.125")."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

_ZERO_DECIMALS = {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND",
                  "VUV", "XAF", "XOF", "XPF"}
_THREE_DECIMALS = {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"}


def minor_unit_digits(currency: str) -> int:
    code = currency.upper()
    if code in _ZERO_DECIMALS:
        return 0
    return 3 if code in _THREE_DECIMALS else 2


def quantize(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-minor_unit_digits(currency)), rounding=ROUND_HALF_EVEN)
