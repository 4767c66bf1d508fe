"""Topic provisioning: create the catalogue's topics deliberately, before anything consumes.

In: bootstrap servers and topic plans (name, partitions, replication, configs). Out: every
topic exists with its planned partition count and is visible in cluster metadata; a topic that
exists with another partition count is an error (its keyed state would be misrouted), raised
before the worker starts rather than as a PartitionsMismatch after it reports ready.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from .catalogue import CATALOGUE
from .config import Settings

log = logging.getLogger(__name__)
METADATA_WAIT_SECONDS = 60.0


class ProvisioningError(RuntimeError):
    """Topics could not be created or exist with the wrong shape."""


@dataclass(frozen=True)
class TopicPlan:
    name: str
    partitions: int
    replication: int
    config: dict[str, str] = field(default_factory=dict)


def catalogue_plans(settings: Settings) -> list[TopicPlan]:
    """One plan per catalogue topic, named for this environment's prefix."""
    plans = []
    for spec in CATALOGUE:
        config = {"retention.ms": str(int(spec.retention.total_seconds() * 1000))} if spec.retention else {}
        plans.append(TopicPlan(settings.topic_name(spec.name), settings.partitions, settings.replication, config))
    return plans


def bootstrap_servers(broker_url: str) -> list[str]:
    """``kafka://a:1;kafka://b:2`` -> ``["a:1", "b:2"]``."""
    return [url.strip().removeprefix("kafka://") for url in broker_url.split(";") if url.strip()]


async def ensure_topics(bootstrap: list[str], plans: Iterable[TopicPlan]) -> None:
    """Create missing topics, check existing ones, and wait until metadata shows them all."""
    wanted = {plan.name: plan for plan in plans}
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="r3edge-provisioning")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [plan for name, plan in wanted.items() if name not in existing]
        if missing:
            await _create(admin, missing)
        await _wait_visible(admin, wanted)
    finally:
        await admin.close()


async def _create(admin: AIOKafkaAdminClient, plans: list[TopicPlan]) -> None:
    topics = [
        NewTopic(p.name, num_partitions=p.partitions, replication_factor=p.replication, topic_configs=p.config)
        for p in plans
    ]
    try:
        await admin.create_topics(topics)
    except TopicAlreadyExistsError:
        pass  # another worker created them first; their shape is checked next
    log.info("created topics: %s", ", ".join(p.name for p in plans))


async def _wait_visible(admin: AIOKafkaAdminClient, wanted: dict[str, TopicPlan]) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + METADATA_WAIT_SECONDS
    while True:
        counts = await _partition_counts(admin, list(wanted))
        wrong = {n: c for n, c in counts.items() if c and c != wanted[n].partitions}
        if wrong:
            raise ProvisioningError(
                "topics exist with another partition count than configured: "
                + ", ".join(
                    f"{name} has {count}, expected {wanted[name].partitions}" for name, count in sorted(wrong.items())
                )
            )
        if all(counts.get(name) for name in wanted):
            return
        if loop.time() > deadline:
            absent = sorted(name for name in wanted if not counts.get(name))
            raise ProvisioningError(f"topics not visible after {METADATA_WAIT_SECONDS:.0f}s: {', '.join(absent)}")
        await asyncio.sleep(0.2)


async def _partition_counts(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, int]:
    described = await admin.describe_topics(names)
    return {item["topic"]: len(item.get("partitions") or []) for item in described if item.get("error_code", 0) == 0}
