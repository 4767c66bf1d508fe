"""Strategy plug-ins and their indicators: pure functions over closed candles (no I/O, no clock)."""
