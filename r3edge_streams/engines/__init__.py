"""Async engines over the ports, with no Faust in them: the executor (orders to venues)."""
