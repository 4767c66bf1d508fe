"""Changelog-backed Faust tables, one module each, each written by exactly one agent."""
