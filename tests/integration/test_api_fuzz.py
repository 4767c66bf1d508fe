"""The API fuzzed from its own OpenAPI description (schemathesis, derandomized): no 5xx, answers
that match the description, and the worker alive and still answering at the end."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from tests.kit.http import TRADER_TOKEN, request
from tests.kit.workers import Worker

EXAMPLES = 60
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


@pytest.fixture
def fuzzed(workers: Callable[..., Worker], tmp_path: Path) -> Worker:
    # exchanges answer nothing here: a fuzzed session that starts collecting fails fast and harmlessly
    return workers(extra_env={"R3EDGE_EXCHANGE_TIMEOUT": "1", "R3EDGE_COLLECT_INTERVAL": "2"}).start().wait_ready()


def test_no_request_generated_from_the_description_gets_a_5xx(fuzzed: Worker) -> None:
    document = request("GET", f"{fuzzed.url}/openapi.json", token=None).body
    schema = schemathesis.openapi.from_dict(document)
    headers = {"Authorization": f"Bearer {TRADER_TOKEN}"}
    tried: dict[str, int] = {}
    statuses: dict[int, int] = {}
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def exercise(case: Any) -> None:
            response = case.call_and_validate(base_url=fuzzed.url, headers=headers, checks=CHECKS)
            tried[operation.label] = tried.get(operation.label, 0) + 1
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        exercise()
    assert len(tried) == len(document["paths"]) + 3  # every operation was exercised
    assert sum(tried.values()) > 8 * EXAMPLES, tried  # the parameterless ones repeat nothing
    assert {200, 201, 400, 404} <= set(statuses), statuses  # valid requests went through, invalid ones refused
    assert fuzzed.process is not None and fuzzed.process.poll() is None
    assert request("GET", f"{fuzzed.url}/sessions").status == 200
