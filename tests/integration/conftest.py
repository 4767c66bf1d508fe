"""Integration fixtures: one real Kafka broker for the session, real worker processes per test.

The broker's start and stop limits (``r3edge_streams.localkafka``) are scaled by the patience
factor like every other wait of the suite (tests/kit/patience.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from r3edge_streams import localkafka
from r3edge_streams.localkafka import LocalKafka, free_port
from tests.kit.patience import patient
from tests.kit.workers import Worker


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka]:
    broker = LocalKafka(tmp_path_factory.mktemp("kafka"), port=free_port(), controller_port=free_port(), heap="384m")
    with pytest.MonkeyPatch.context() as patch:  # the module reads its limits at each start and stop
        patch.setattr(localkafka, "START_TIMEOUT", patient(localkafka.START_TIMEOUT))
        patch.setattr(localkafka, "STOP_TIMEOUT", patient(localkafka.STOP_TIMEOUT))
        broker.start()
        yield broker
        broker.stop()


@pytest.fixture
def topic_prefix() -> str:
    """A fresh environment prefix: this test's own topics, consumer group and tables."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def workers(kafka: LocalKafka, topic_prefix: str, tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    """Make workers for this test; all are stopped (or killed) when it ends."""
    started: list[Worker] = []

    def make(name: str = "w1", **kwargs: object) -> Worker:
        worker = Worker(kafka.broker_url, tmp_path / name, topic_prefix, **kwargs)  # type: ignore[arg-type]
        started.append(worker)
        return worker

    yield make
    for worker in started:
        worker.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="module")
def shared_worker(kafka: LocalKafka, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    """One ready worker for a whole module of read-mostly tests."""
    worker = Worker(kafka.broker_url, tmp_path_factory.mktemp("shared"), f"m{uuid.uuid4().hex[:10]}")
    worker.start().wait_ready()
    yield worker
    worker.stop()
