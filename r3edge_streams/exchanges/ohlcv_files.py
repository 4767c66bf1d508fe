"""OHLCV history files: the JSON array form (``[[open_ms, o, h, l, c, v], ...]``) and CSV.

In: a file path and the market it belongs to. Out: ``Candle`` records with exact Decimals
(numbers are parsed as Decimal, never through float). CSV needs a header naming
``open_time`` (milliseconds or ISO 8601), ``open``, ``high``, ``low``, ``close``, ``volume``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..models import Candle

CSV_COLUMNS = ("open_time", "open", "high", "low", "close", "volume")


class OhlcvFileError(ValueError):
    """The file is not an OHLCV file this loader reads; the message says where and why."""


def load_ohlcv(path: Path, exchange: str, symbol: str, timeframe: str) -> list[Candle]:
    """All candles of ``path`` for the market (exchange, symbol, timeframe), as stored."""
    if path.suffix.lower() == ".csv":
        rows = _csv_rows(path)
    else:
        rows = _json_rows(path)
    return [_candle(row, exchange, symbol, timeframe, f"{path}:{n}") for n, row in enumerate(rows, 1)]


def _json_rows(path: Path) -> list[Sequence[Any]]:
    try:
        data = json.loads(path.read_text(), parse_float=Decimal)
    except ValueError as exc:
        raise OhlcvFileError(f"{path}: not JSON: {exc}") from None
    if not isinstance(data, list):
        raise OhlcvFileError(f"{path}: expected a JSON array of [open_ms, open, high, low, close, volume]")
    return data


def _csv_rows(path: Path) -> list[Sequence[Any]]:
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise OhlcvFileError(f"{path}: CSV header lacks {', '.join(missing)}")
        return [[row[c] for c in CSV_COLUMNS] for row in reader]


def _candle(row: Sequence[Any], exchange: str, symbol: str, timeframe: str, where: str) -> Candle:
    if not isinstance(row, (list, tuple)) or len(row) < 6:
        raise OhlcvFileError(f"{where}: expected [open_time, open, high, low, close, volume]")
    try:
        return Candle(
            exchange=exchange,
            symbol=symbol,
            timeframe=timeframe,
            open_time=_time(row[0]),
            open=_number(row[1]),
            high=_number(row[2]),
            low=_number(row[3]),
            close=_number(row[4]),
            volume=_number(row[5]),
        )
    except (ValueError, ArithmeticError) as exc:
        raise OhlcvFileError(f"{where}: {exc}") from None


def _time(value: Any) -> datetime:
    if isinstance(value, str) and not value.strip().isdigit():
        moment = datetime.fromisoformat(value.strip())
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return datetime.fromtimestamp(int(value) / 1000, tz=timezone.utc)


def _number(value: Any) -> Decimal:
    number = Decimal(str(value).strip())
    if not number.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return number
