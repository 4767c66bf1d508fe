"""The layout's own rules, checked where import-linter cannot: every agent module is in the
"agents never import each other" contract, every table has exactly one writing module, and
the Faust application module holds only the app."""

from __future__ import annotations

import ast
import configparser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "r3edge_streams"


def _modules(folder: str) -> set[str]:
    return {f"r3edge_streams.{folder}.{p.stem}" for p in (PACKAGE / folder).glob("*.py") if p.stem != "__init__"}


def test_the_independence_contract_lists_every_agent_module() -> None:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    listed = set(config["importlinter:contract:agents-independent"]["modules"].split())
    assert listed == _modules("agents")


def _table_writers() -> dict[str, set[str]]:
    """Which modules assign into each table (``name[key] = ...`` or ``del name[key]``)."""
    tables = {p.stem for p in (PACKAGE / "tables").glob("*.py")} - {"__init__", "changelog"}
    writers: dict[str, set[str]] = {name: set() for name in tables}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            targets = (
                node.targets
                if isinstance(node, (ast.Assign, ast.Delete))
                else [node.target]
                if isinstance(node, ast.AugAssign)
                else []
            )
            for target in targets:
                if (
                    isinstance(target, ast.Subscript)
                    and isinstance(target.value, ast.Name)
                    and target.value.id in writers
                ):
                    writers[target.value.id].add(str(path.relative_to(ROOT)))
    return writers


def test_every_table_has_one_writing_module() -> None:
    writers = _table_writers()
    assert writers, "no table found"
    for table, modules in writers.items():
        assert len(modules) == 1, f"table {table} is written by {sorted(modules) or 'nobody'}"
        assert next(iter(modules)).startswith("r3edge_streams/agents/"), f"{table} written outside the agents"


def test_the_application_module_defines_only_the_app_and_its_settings() -> None:
    tree = ast.parse((PACKAGE / "application.py").read_text())
    names = {
        t.id
        for node in tree.body
        if isinstance(node, (ast.Assign, ast.AnnAssign))
        for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(t, ast.Name)
    }
    functions = [node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    assert names == {"settings", "app", "MAX_BODY_BYTES"} and not functions
