"""Client order ids as each exchange takes them (pure): our id, in the exchange's own form.

In: an exchange id and our client order id (``r3`` + 30 hex digits, derived from the order id:
:func:`r3edge_streams.domain.money.client_order_id`). Out: the id sent to that exchange and
looked up there, within its length and alphabet (most take ours as it is; Gate wants ``t-``
and at most 28 characters after it; Coinbase takes only UUIDs), and whether an id an exchange
lists is one of ours. The form is a function of our id alone, so an order is always found
again under the id it was placed with.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from .money import CLIENT_ID_PREFIX

UUID_MARK = "f0f0"  # the first hex digits of our ids on exchanges that take only UUIDs


@dataclass(frozen=True)
class ClientIdRule:
    max_length: int = 36
    prefix: str = ""  # what the exchange requires in front (Gate: "t-")
    uuid: bool = False  # the exchange takes only UUIDs


_DEFAULT = ClientIdRule()
RULES: dict[str, ClientIdRule] = {
    "gate": ClientIdRule(max_length=28, prefix="t-"),
    "gateio": ClientIdRule(max_length=28, prefix="t-"),
    "okx": ClientIdRule(max_length=32),
    "coinbase": ClientIdRule(uuid=True),
    "coinbaseexchange": ClientIdRule(uuid=True),
    "coinbaseadvanced": ClientIdRule(uuid=True),
}


def venue_client_id(exchange_id: str, client_order_id: str) -> str:
    """Our ``client_order_id`` as ``exchange_id`` takes it."""
    rule = RULES.get(exchange_id, _DEFAULT)
    if rule.uuid:
        digits = client_order_id[len(CLIENT_ID_PREFIX) :]
        return str(uuid.UUID(hex=(UUID_MARK + digits)[:32].ljust(32, "0")))
    return rule.prefix + client_order_id[: rule.max_length]


def is_ours(exchange_id: str, venue_id: str) -> bool:
    """Whether an id ``exchange_id`` lists has the form of ours (it may still be unknown to us)."""
    rule = RULES.get(exchange_id, _DEFAULT)
    if rule.uuid:
        return venue_id.replace("-", "").lower().startswith(UUID_MARK)
    return venue_id.startswith(rule.prefix + CLIENT_ID_PREFIX)
