"""The exposure ledger: limits across sessions, idempotent reservations, release on order end and
on position close. Totals are summed here from what was reserved, not read from the ledger."""

from __future__ import annotations

from datetime import datetime, timezone

from hypothesis import given
from hypothesis import strategies as st

from r3edge_streams.domain.exposure import (
    KEPT_RELEASED,
    KEPT_VERDICTS,
    AccountLimits,
    committed,
    open_orders,
    release_position,
    reserve,
    settle,
)
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
    assert accepted == sum(1 for reason in ledger.verdicts.values() if not reason)


def test_an_entry_decided_before_a_release_but_arriving_after_it_counts_the_released_position() -> None:
    """Two workers at different paces: s1 and s2 held 600 + 400 from 10:00 and closed at 10:05;
    s3's entry decided at 10:02 arrives after those closes. At 10:02 the account held 1000."""
    limits = AccountLimits(max_notional=d(1000))
    at = [datetime(2017, 11, 6, 10, minute, tzinfo=timezone.utc) for minute in range(10)]
    ledger, _ = reserve(empty(), "o1", "s1", d(600), limits, at[0])
    ledger, _ = reserve(ledger, "o2", "s2", d(400), limits, at[0])
    ledger = settle(settle(ledger, "o1", d(600)), "o2", d(400))
    ledger = release_position(release_position(ledger, "s1", at[5]), "s2", at[5])
    assert committed(ledger) == 0 and committed(ledger, at[2]) == d(1000)
    ledger, late = reserve(ledger, "o3", "s3", d(300), limits, at[2])
    assert not late.accepted and "exceed" in late.reason
    _, later = reserve(ledger, "o4", "s4", d(300), limits, at[6])  # decided after the closes: room
    assert later.accepted


def test_released_holds_are_kept_only_a_while() -> None:
    """The oldest released holds are forgotten first; a hold still open is never forgotten."""
    ledger, moment = empty(), datetime(2017, 11, 6, tzinfo=timezone.utc)
    ledger, _ = reserve(ledger, "open", "s-open", d(2), LIMITS, moment)
    ledger = settle(ledger, "open", d(2))
    for n in range(KEPT_RELEASED + 50):
        ledger, _ = reserve(ledger, f"o{n}", f"s{n}", d(1), LIMITS, moment)
        ledger = release_position(settle(ledger, f"o{n}", d(1)), f"s{n}", moment)
    assert [r.order_id for r in ledger.reservations] == ["open"]
    assert [r.order_id for r in ledger.released] == [f"o{n}" for n in range(50, KEPT_RELEASED + 50)]
    assert committed(ledger) == 2


def test_the_latest_verdicts_answer_redeliveries_and_the_oldest_are_forgotten() -> None:
    """Each redelivery within the latest ``KEPT_VERDICTS`` orders gets its first answer, refused
    ones too; the oldest beyond them are forgotten first (the bound of the ledger's size)."""
    limits = AccountLimits(max_notional=d(10))
    ledger, answers = empty(), {}
    for n in range(KEPT_VERDICTS + 30):
        notional = d(20) if n % 7 == 0 else d(1)  # every seventh is over the limit alone
        ledger, verdict = reserve(ledger, f"o{n}", "s", notional, limits)
        ledger = settle(ledger, f"o{n}", d(0))  # ended unfilled: nothing stays reserved
        answers[f"o{n}"] = verdict
        assert verdict.accepted is (n % 7 != 0)
    assert len(ledger.verdicts) == KEPT_VERDICTS and list(ledger.verdicts)[0] == "o30"
    for n in (30, 35, 500, KEPT_VERDICTS + 29):
        again, repeated = reserve(ledger, f"o{n}", "s", d(1), limits)
        assert repeated == answers[f"o{n}"] and again.verdicts == ledger.verdicts
    _, forgotten = reserve(ledger, "o7", "s", d(1), limits)  # refused once, forgotten: decided anew
    assert forgotten.accepted
