"""The exposure ledger: limits across sessions, idempotent reservations, release on order end and
on position close. Totals are summed here from what was reserved, not read from the ledger."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from r3edge_streams.domain.exposure import AccountLimits, committed, open_orders, release_position, reserve, settle
from r3edge_streams.models.exposure import AccountExposure
from tests.kit.factories import d

LIMITS = AccountLimits(max_notional=d(1000), max_open_orders=3)


def empty() -> AccountExposure:
    return AccountExposure(account="main")


def test_entries_of_many_sessions_share_the_account_limit() -> None:
    ledger, first = reserve(empty(), "o1", "s1", d(600), LIMITS)
    ledger, second = reserve(ledger, "o2", "s2", d(500), LIMITS)
    ledger, third = reserve(ledger, "o3", "s3", d(400), LIMITS)
    assert first.accepted and not second.accepted and third.accepted
    assert "exceed" in second.reason and "1000" in second.reason
    assert committed(ledger) == d(1000) and open_orders(ledger) == 2


def test_a_redelivered_order_gets_its_first_verdict_and_reserves_nothing_more() -> None:
    ledger, verdict = reserve(empty(), "o1", "s1", d(600), LIMITS)
    again, repeated = reserve(ledger, "o1", "s1", d(600), LIMITS)
    assert repeated == verdict and committed(again) == d(600)
    refused_ledger, refused = reserve(ledger, "o2", "s2", d(900), LIMITS)
    freed = settle(refused_ledger, "o1", d(0))  # o1 ended unfilled: room for 900 now
    _, later = reserve(freed, "o2", "s2", d(900), LIMITS)
    assert not refused.accepted and later == refused  # refused once, refused on every redelivery


def test_a_filled_entry_is_held_until_its_position_closes() -> None:
    ledger, _ = reserve(empty(), "o1", "s1", d(600), LIMITS)
    ledger = settle(ledger, "o1", d(550))  # filled a little less than reserved
    assert committed(ledger) == d(550) and open_orders(ledger) == 0
    assert settle(ledger, "o1", d(550)) == ledger  # ending twice changes nothing
    ledger = release_position(ledger, "s1")
    assert committed(ledger) == 0


def test_the_open_order_limit() -> None:
    ledger = empty()
    for n in range(3):
        ledger, verdict = reserve(ledger, f"o{n}", f"s{n}", d(1), LIMITS)
        assert verdict.accepted
    ledger, fourth = reserve(ledger, "o3", "s3", d(1), LIMITS)
    assert not fourth.accepted and "open orders" in fourth.reason


@given(st.lists(st.tuples(st.integers(0, 9), st.integers(1, 400), st.booleans()), max_size=60))
def test_no_sequence_of_reservations_and_ends_exceeds_the_limit(events: list[tuple[int, int, bool]]) -> None:
    ledger, accepted = empty(), 0
    for n, (session, notional, end_one) in enumerate(events):
        ledger, verdict = reserve(ledger, f"o{n}", f"s{session}", d(notional), LIMITS)
        accepted += verdict.accepted
        assert committed(ledger) == sum(r.notional for r in ledger.reservations) <= d(1000)
        assert open_orders(ledger) <= 3
        if end_one and ledger.reservations:
            ledger = settle(ledger, ledger.reservations[0].order_id, d(0))
    assert accepted == sum(1 for v in ledger.verdicts if v.accepted)
