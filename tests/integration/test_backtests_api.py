"""Backtests and sweeps over the API, on the real broker with real workers and the real candles.

- ``POST /backtests`` answers 202 at once; ``GET /backtests/{id}`` shows the job running with
  its progress, then its report, whose trades equal the independent computation of
  ``tests/kit/reference.py``; the HTML page is served; bad requests are 4xx JSON naming the field,
  a job that cannot run is failed with its error;
- a sweep on three workers gives the same results as on one, its jobs are run by several workers,
  and after a SIGKILL of a worker mid-sweep every job has exactly one result.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.kit.http import Pending, request, wait_for
from tests.kit.reference import Rules, exact_sma_crossings, iso_of, reference_trades
from tests.kit.workers import Worker

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
ROWS: list[list[Any]] = json.loads((DATA_DIR / "UNITTEST_BTC-1m.json").read_text())
GRID = {"fast": [3, 5, 8, 10], "slow": [20, 30, 40]}


def replay_workers(workers: Callable[..., Worker], *names: str, partitions: int = 4) -> list[Worker]:
    env = {"R3EDGE_REPLAY_DIR": str(DATA_DIR)}
    made = [workers(name, extra_env=env, partitions=partitions) for name in names]
    for worker in made:
        worker.start()
    for worker in made:
        worker.wait_ready()
    return made


def body(start: int, stop: int, **extra: Any) -> dict[str, Any]:
    return {"strategy": "sma_cross", "parameters": {"fast": 10, "slow": 30}, "exchange": "replay",
            "symbol": "UNITTEST/BTC", "timeframe": "1m", "from": iso_of(int(ROWS[start][0])),
            "to": iso_of(int(ROWS[stop][0])), "risk": {"capital": "1000", "position_fraction": "0.5",
            "max_position_fraction": "0.5"}, "fills": {"fee_bps": "5", "slippage_bps": "1"}, **extra}  # fmt: skip


def test_a_backtest_over_the_api_runs_on_its_owner_shows_progress_and_reports_the_rules_trades(
    workers: Callable[..., Worker],
) -> None:
    [worker] = replay_workers(workers, "w1")
    queued = request("POST", f"{worker.url}/backtests", body(200, len(ROWS) - 1, backtest_id="bt-1"))
    assert queued.status == 202 and queued.body["status"] == "queued", queued
    seen: list[str] = []

    def ended() -> dict[str, Any] | Pending:
        reply = request("GET", f"{worker.url}/backtests/bt-1")
        assert reply.status == 200, reply
        status = reply.body["status"]
        if status == "running" and reply.body["progress"]["candles"]:
            seen.append(f"{reply.body['progress']['candles_done']}/{reply.body['progress']['candles']}")
        return reply.body if status in ("done", "failed") else Pending(f"{status} {seen[-1:]}")

    done = wait_for(ended, 180, interval=0.1, what="the backtest's report")
    assert done["status"] == "done", done
    assert seen, "its progress was shown while it ran"
    rules = Rules(Decimal(1000), Decimal("0.5"), Decimal("0.5"), Decimal(5), Decimal(1))
    wanted = reference_trades(ROWS, 200, len(ROWS) - 1, exact_sma_crossings(ROWS, 10, 30), rules)
    trades = done["report"]["trades"]
    assert [(t["entry_time"], t["exit_time"]) for t in trades] == [
        (w.entry_time.replace("+00:00", "Z"), w.exit_time.replace("+00:00", "Z")) for w in wanted.trips
    ]
    assert all(abs(Decimal(t["pnl"]) - w.pnl) <= Decimal("1e-18") for t, w in zip(trades, wanted.trips, strict=True))
    page = request("GET", f"{worker.url}/backtests/bt-1/report.html")
    assert page.status == 200 and page.headers.get("Content-Type", "").startswith("text/html")
    assert "Plotly" in page.body and trades[0]["entry_price"] in page.body


def test_bad_backtest_requests_are_named_and_a_job_that_cannot_run_fails_with_its_error(
    workers: Callable[..., Worker],
) -> None:
    [worker] = replay_workers(workers, "w1")
    url = f"{worker.url}/backtests"
    for wrong, field in (({"from": "yesterday"}, "from"), ({"strategy": "nope"}, "strategy"),
                         ({"parameters": {"fast": 10, "slowest": 3}}, "parameters.slowest"),
                         ({"backtest_id": "a b"}, "backtest_id"), ({"timeframe": "7m"}, "timeframe"),
                         ({"to": iso_of(int(ROWS[10][0]))}, "to")):  # fmt: skip
        reply = request("POST", url, {**body(200, 400), **wrong})
        assert 400 <= reply.status < 500 and reply.body.get("field") == field, (wrong, reply)
    assert request("POST", url, raw=b"{not json").status == 400
    assert request("GET", f"{url}/no-such-job").status == 404
    assert request("POST", url, body(200, 400, backtest_id="twice")).status == 202
    assert request("POST", url, body(200, 400, backtest_id="twice")).status == 409
    queued = request("POST", url, body(200, 400, backtest_id="far", symbol="NOPE/BTC"))
    assert queued.status == 202

    def failed() -> dict[str, Any] | Pending:
        reply = request("GET", f"{url}/far").body
        return reply if reply["status"] == "failed" else Pending(reply["status"])

    assert "NOPE/BTC" in wait_for(failed, 120, interval=0.3, what="the job's failure")["error"]

    markets = [{"exchange": "replay", "symbol": s, "timeframe": "1m"} for s in ("UNITTEST/BTC", "NOPE/BTC")]
    mixed = {**body(200, 900), "sweep_id": "mixed", "grid": {"fast": [5, 10], "slow": [30]}, "markets": markets}
    for name in ("parameters", "exchange", "symbol", "timeframe"):
        mixed.pop(name)
    assert request("POST", f"{worker.url}/sweeps", mixed).status == 202
    assert request("POST", f"{worker.url}/sweeps", {**mixed, "grid": {"fast": []}}).body["field"] == "grid.fast"
    state = wait_for(finished(worker, "mixed"), 120, interval=0.5, what="the mixed sweep")
    assert (state["done"], state["failed"]) == (2, 2), state
    assert all("NOPE/BTC" in f["error"] for f in state["failures"])
    assert {r["symbol"] for r in state["ranking"]} == {"UNITTEST/BTC"}


def sweep(worker: Worker, sweep_id: str) -> None:
    """Post the sweep as a client does: again while the cluster moves partitions (503: retry shortly)."""
    payload = {**body(200, 5200), "sweep_id": sweep_id, "grid": GRID, "metric": "total_return"}
    payload.pop("parameters")

    def posted() -> Any:
        reply = request("POST", f"{worker.url}/sweeps", payload)
        return reply if reply.status != 503 else Pending(f"503: {reply.body}")

    reply = wait_for(posted, 60, interval=0.5, what=f"sweep {sweep_id} taken")
    assert reply.status == 202 and reply.body["jobs"] == 12, reply


def finished(worker: Worker, sweep_id: str) -> Callable[[], dict[str, Any] | Pending]:
    def check() -> dict[str, Any] | Pending:
        reply = request("GET", f"{worker.url}/sweeps/{sweep_id}")
        if reply.status != 200:
            return Pending(f"{reply.status} {reply.body}")
        state = reply.body
        return state if state["pending"] == 0 else Pending(f"{state['done']} done, {state['pending']} pending")

    return check


def results(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {json.dumps(item["parameters"], sort_keys=True): item["metrics"] for item in state["ranking"]}


def test_a_sweep_on_three_workers_equals_one_workers_and_survives_a_killed_worker(
    workers: Callable[..., Worker],
) -> None:
    # 8 partitions: with 4, Faust's sticky assignment can leave one of three workers without any
    [first] = replay_workers(workers, "w1", partitions=8)
    sweep(first, "alone")
    alone = wait_for(finished(first, "alone"), 300, interval=1, what="the sweep on one worker")
    assert alone["done"] == 12 and alone["failed"] == 0, alone
    values = [Decimal(item["metrics"]["total_return"]) for item in alone["ranking"]]
    assert values == sorted(values, reverse=True), "ranked by the metric asked"

    second, third = replay_workers(workers, "w2", "w3", partitions=8)
    sweep(third, "cluster")

    def some_done() -> dict[str, Any] | Pending:
        reply = request("GET", f"{third.url}/sweeps/cluster")
        done = reply.body.get("done", 0) if reply.status == 200 else 0
        return reply.body if 1 <= done < 12 else Pending(f"{reply.status} {reply.body}")

    wait_for(some_done, 300, interval=0.3, what="the sweep under way on three workers")
    second.kill()
    together = wait_for(finished(first, "cluster"), 400, interval=1, what="the sweep after a worker was killed")
    assert together["done"] == 12 and together["failed"] == 0, together
    assert results(together) == results(alone), "three workers (one killed) give what one gave"
    runners = [w for w in (first, second, third) if "backtest cluster:" in w.log_text()]
    assert len(runners) >= 2, "the sweep's jobs were spread over the workers"


def test_a_backtest_session_with_a_range_is_run_by_the_driver_and_shows_its_trades_like_any_session(
    workers: Callable[..., Worker],
) -> None:
    [worker] = replay_workers(workers, "w1")
    ranged = {k: v for k, v in body(200, 2500).items() if k not in ("from", "to")}
    ranged.update(mode="backtest", refresh_seconds=60, backtest={"start": iso_of(int(ROWS[200][0])),
                  "end": iso_of(int(ROWS[2500][0]))})  # fmt: skip
    paper = request("POST", f"{worker.url}/sessions", {**ranged, "session_id": "bad", "mode": "paper"})
    assert paper.status == 422 and paper.body["field"] == "backtest", paper
    assert request("POST", f"{worker.url}/sessions", {**ranged, "session_id": "bs"}).status == 201
    assert request("POST", f"{worker.url}/sessions/bs/start").status in (200, 202)

    def stopped() -> dict[str, Any] | Pending:
        state = request("GET", f"{worker.url}/sessions/bs").body
        return state if state.get("status") == "stopped" else Pending(f"{state.get('status')}")

    state = wait_for(stopped, 180, interval=0.5, what="the backtest session run and stopped")
    assert "round trips" in (state.get("reason") or ""), state
    rules = Rules(Decimal(1000), Decimal("0.5"), Decimal("0.5"), Decimal(5), Decimal(1))
    wanted = reference_trades(ROWS, 200, 2500, exact_sma_crossings(ROWS, 10, 30), rules)
    trades = request("GET", f"{worker.url}/sessions/bs/trades").body["items"]
    assert len(trades) == len(wanted.trips) >= 10
    assert [(t["entry_time"], t["exit_time"]) for t in trades] == [
        (w.entry_time.replace("+00:00", "Z"), w.exit_time.replace("+00:00", "Z")) for w in wanted.trips
    ]
    assert all(abs(Decimal(t["pnl"]) - w.pnl) <= Decimal("1e-18") for t, w in zip(trades, wanted.trips, strict=True))
    position = request("GET", f"{worker.url}/sessions/bs/position").body
    if Decimal(position["quantity"]) == 0:
        assert abs(Decimal(position["cash"]) - wanted.cash) <= Decimal("1e-18")


def test_the_candles_view_pages_a_markets_history_as_the_data_file_has_it(workers: Callable[..., Worker]) -> None:
    [worker] = replay_workers(workers, "w1")
    start, end = iso_of(int(ROWS[100][0])), iso_of(int(ROWS[2600][0]))
    wanted = [(iso_of(int(r[0])).replace("+00:00", "Z"), str(r[1]), str(r[4])) for r in ROWS[100:2600]]
    got: list[tuple[str, str, str]] = []
    cursor: str | None = start
    pages = 0
    while cursor is not None:
        query = f"exchange=replay&symbol=UNITTEST/BTC&timeframe=1m&from={cursor}&to={end}&limit=700"
        reply = request("GET", f"{worker.url}/candles?{query.replace('+', '%2B')}")
        assert reply.status == 200, reply
        got += [(c["time"], c["open"], c["close"]) for c in reply.body["items"]]
        cursor, pages = reply.body["next"], pages + 1
        assert pages < 20, "the pages end"
    assert [(t, Decimal(o), Decimal(c)) for t, o, c in got] == [(t, Decimal(o), Decimal(c)) for t, o, c in wanted]
    assert pages >= 4, "paged"
    base = f"{worker.url}/candles?exchange=replay&symbol=UNITTEST/BTC&timeframe=1m"
    for query, field in (("", "from"), (f"&from=soon&to={end}", "from"), (f"&from={end}&to={start}", "to"),
                         (f"&from={start}&to={end}&limit=0", "limit")):  # fmt: skip
        reply = request("GET", f"{base}{query.replace('+', '%2B')}")
        assert reply.status == 400 and reply.body["field"] == field, (query, reply)
    unknown = request("GET", f"{base.replace('UNITTEST', 'NOPE')}&from={start}&to={end}".replace("+", "%2B"))
    assert unknown.status == 404, unknown
