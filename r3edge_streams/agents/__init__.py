"""Agents: one module per service, thin wiring between topics, tables and the pure core."""
