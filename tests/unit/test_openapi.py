"""The OpenAPI document describes exactly the routes and methods the app serves, with bodies
derived from the records the strict codec reads."""

from __future__ import annotations

from typing import Any

import schemathesis

import r3edge_streams.web.backtests  # noqa: F401 - registers the views
import r3edge_streams.web.candles  # noqa: F401
import r3edge_streams.web.health  # noqa: F401
import r3edge_streams.web.sessions  # noqa: F401
import r3edge_streams.web.strategies  # noqa: F401
import r3edge_streams.web.trading  # noqa: F401
import r3edge_streams.web.workloads  # noqa: F401
from r3edge_streams.application import app
from r3edge_streams.models import SessionSpec
from r3edge_streams.web.auth import PUBLIC_PATHS
from r3edge_streams.web.openapi import GATE_ERRORS, TOKEN_ERRORS, document, schema_of

METHODS = ("get", "post", "put", "patch", "delete")


def served() -> dict[str, set[str]]:
    """Path -> methods, as registered with the web server."""
    found: dict[str, set[str]] = {}
    for path, view in app.web.views.items():
        methods = {
            m
            for m in METHODS
            for cls in type(view).__mro__
            if m in cls.__dict__ and cls.__module__.startswith("r3edge_streams")
        }
        found[path] = methods
    return found


def described(doc: dict[str, Any]) -> dict[str, set[str]]:
    return {path: {m for m in item if m in METHODS} for path, item in doc["paths"].items()}


def test_every_served_route_is_described_and_every_description_is_served() -> None:
    assert described(document()) == served()


def test_the_document_is_valid_openapi_for_schemathesis() -> None:
    schema = schemathesis.openapi.from_dict(document())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {(op.method.lower(), op.path) for op in operations} == {
        (m, p) for p, methods in served().items() for m in methods
    }


def test_bodies_follow_the_records() -> None:
    spec = schema_of(SessionSpec)
    assert set(spec["properties"]) == set(SessionSpec._options.fields)
    assert spec["required"] == ["strategy", "parameters", "exchange", "symbol", "timeframe", "mode", "refresh_seconds"]
    assert spec["properties"]["risk"] == {"$ref": "#/components/schemas/RiskParams"}
    assert spec["properties"]["account"] == {"type": "string", "nullable": True}
    assert spec["properties"]["mode"]["enum"] == ["backtest", "paper", "live"]
    risk = document()["components"]["schemas"]["RiskParams"]
    assert risk["properties"]["capital"]["type"] == "string" and "required" not in risk


def test_faust_pages_that_would_bypass_the_tokens_are_off() -> None:
    conf = app.conf
    assert not any(
        [
            conf.web_router_enabled,
            conf.web_tables_enabled,
            conf.web_graph_enabled,
            conf.web_stats_enabled,
            conf.web_metrics_enabled,
        ]
    )


def test_every_operation_describes_the_gate_answers() -> None:
    for path, item in document()["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            public = path in PUBLIC_PATHS
            assert (operation["security"] == []) == public, (path, method)
            expected = GATE_ERRORS if public else (*GATE_ERRORS, *TOKEN_ERRORS)
            assert {str(status) for status in expected} <= set(operation["responses"]), (path, method)
