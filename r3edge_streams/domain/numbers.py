"""The engine's decimal arithmetic (pure): one context for every computation of money.

In: nothing. Out: ``engine_context()``, a fresh copy of the context all money arithmetic runs in:
28 significant digits, rounding half to even (Python's default), traps on invalid operations,
division by zero and overflow. Workers install it when they start and the backtest driver runs
in it, so a paper session and a backtest round alike to the last digit, whatever a library did
to the context of the thread it runs in (ccxt's ``decimal_to_precision`` switches the current
context to rounding half up, for good).
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, DivisionByZero, InvalidOperation, Overflow

_ENGINE = Context(prec=28, rounding=ROUND_HALF_EVEN, Emin=-999999, Emax=999999, capitals=1, clamp=0,
                  flags=[], traps=[InvalidOperation, DivisionByZero, Overflow])  # fmt: skip


def engine_context() -> Context:
    """A fresh copy of the engine's context (contexts are mutable: never share the original)."""
    return _ENGINE.copy()
