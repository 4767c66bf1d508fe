"""Backtest and sweep views, answered by the worker that owns the job or the sweep.

Writes (``trader`` token): ``POST /backtests`` queues one backtest (a session spec, ``from`` and
``to``) on ``backtestjobs`` and answers 202 at once; ``POST /sweeps`` makes one job per point of
a parameter grid (and per market) and answers 202. Reads (``read`` token): ``GET
/backtests/{id}`` (status, progress while it runs, then the report or the error), ``GET
/backtests/{id}/report.html`` (the self-contained page), ``GET /sweeps/{id}`` (its jobs'
results ranked by ``?metric=``, failures with their errors). Bad requests are 4xx JSON answers
naming the field. Reads the ``backtests`` and ``sweeps`` tables; writes nothing but messages.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any
from uuid import uuid4

from faust import web

from ..application import app, settings
from ..backtesting import pool
from ..backtests import BacktestInputError, parse_spec
from ..catalogue import BACKTESTJOBS, SWEEPEVENTS
from ..domain.backtests import LOWER_IS_BETTER, MAX_JOBS, RANKED_METRICS, grid_points, ranking, sweep_jobs
from ..jobs import report_page
from ..models import BacktestJob, MalformedMessage, SessionSpec, SweepEvent, SweepEventKind, to_json
from ..models.codec import parse_time
from ..services import check_spec
from ..tables.backtests import backtests
from ..tables.sweeps import sweeps
from ..topics import publish, publish_many
from .auth import READ, TRADER, require
from .cluster import routed
from .inputs import query_of, single
from .responses import HttpError, json_body, utc_iso

_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")
_MARKET_FIELDS = ("exchange", "symbol", "timeframe")


@app.page("/backtests")
class BacktestCollection(web.View):
    """``POST``: queue a backtest on the worker that owns its id; 202 at once."""

    @require(TRADER)
    async def post(self, request: web.Request) -> web.Response:
        payload = await json_body(request)
        job_id, forwarded = _identified(payload, "backtest_id")
        start, end = _range(payload)
        job = BacktestJob(job_id=job_id, spec=_spec(payload), start=start, end=end, submitted_at=_now())

        async def local() -> web.Response:
            if backtests.get(job_id) is not None:
                raise HttpError(409, f"backtest {job_id} exists already", "backtest_id")
            await publish(BACKTESTJOBS, job)
            await _shown(lambda: backtests.get(job_id) is not None)
            return self.json({"backtest_id": job_id, "status": "queued", "links": _links(job_id)}, status=202)

        return await routed(self, request, backtests, job_id, local, body=forwarded)


@app.page("/backtests/{backtest_id}")
class BacktestItem(web.View):
    """``GET``: the backtest's status, its progress while it runs, then its report or its error."""

    @require(READ)
    async def get(self, request: web.Request, backtest_id: str) -> web.Response:
        job_id = _checked_id(backtest_id)

        async def local() -> web.Response:
            return self.json(describe(job_id))

        return await routed(self, request, backtests, job_id, local)


@app.page("/backtests/{backtest_id}/report.html")
class BacktestPage(web.View):
    """``GET``: the report as a self-contained HTML page (charts included, no network needed)."""

    @require(READ)
    async def get(self, request: web.Request, backtest_id: str) -> web.Response:
        job_id = _checked_id(backtest_id)

        async def local() -> web.Response:
            state = backtests.get(job_id)
            if state is None or state.report is None:
                raise HttpError(404, f"backtest {job_id} has no report (yet)", "backtest_id")
            try:
                page = await report_page(state.job, state.report, settings)
            except BacktestInputError as exc:
                raise HttpError(409, f"the candles of the report cannot be read again: {exc}") from None
            return self.bytes(page.encode(), content_type="text/html")

        return await routed(self, request, backtests, job_id, local)


def describe(job_id: str) -> dict[str, Any]:
    """What the owner knows of a job: the table's state and, while it runs here, its progress."""
    state = backtests.get(job_id)
    if state is None:
        raise HttpError(404, f"no backtest {job_id}", "backtest_id")
    running = pool.progress.get(job_id)
    status = "running" if running is not None and not state.status.final else state.status.value
    return {
        "backtest_id": job_id, "status": status, "submitted_at": utc_iso(state.job.submitted_at),
        "updated_at": utc_iso(state.updated_at), "spec": to_json(state.job.spec),
        "from": utc_iso(state.job.start), "to": utc_iso(state.job.end), "sweep_id": state.job.sweep_id,
        "progress": {"candles_done": running[0], "candles": running[1]} if running else None,
        "error": state.error, "report": state.report, "links": _links(job_id),
    }  # fmt: skip


@app.page("/sweeps")
class SweepCollection(web.View):
    """``POST``: a parameter grid (and markets) made into jobs spread over the cluster; 202 at once."""

    @require(TRADER)
    async def post(self, request: web.Request) -> web.Response:
        payload = await json_body(request)
        sweep_id, forwarded = _identified(payload, "sweep_id")
        metric = _metric(payload.pop("metric", "sharpe"))
        points = _grid(payload.pop("grid", None))
        markets = _markets(payload)
        start, end = _range(payload)
        jobs = sweep_jobs(sweep_id, points, markets)
        if len(jobs) > MAX_JOBS:
            raise HttpError(422, f"the sweep makes {len(jobs)} jobs; at most {MAX_JOBS}", "grid")
        specs = {job_id: _spec({**payload, **job}) for job_id, job in jobs.items()}
        created = SweepEvent(sweep_id=sweep_id, kind=SweepEventKind.CREATED, at=_now(), jobs=jobs, metric=metric)

        async def local() -> web.Response:
            if sweeps.get(sweep_id) is not None:
                raise HttpError(409, f"sweep {sweep_id} exists already", "sweep_id")
            await publish(SWEEPEVENTS, created)  # the sweep knows its jobs before their results come
            at = created.at
            await publish_many(BACKTESTJOBS, [BacktestJob(job_id=job_id, spec=spec, start=start, end=end,
                                                          submitted_at=at, sweep_id=sweep_id)
                                              for job_id, spec in specs.items()])  # fmt: skip
            await _shown(lambda: sweeps.get(sweep_id) is not None)
            return self.json({"sweep_id": sweep_id, "jobs": len(jobs), "status": "queued",
                              "links": {"self": f"/sweeps/{sweep_id}"}}, status=202)  # fmt: skip

        return await routed(self, request, sweeps, sweep_id, local, body=forwarded)


@app.page("/sweeps/{sweep_id}")
class SweepItem(web.View):
    """``GET``: the sweep's results ranked by ``?metric=`` (its own by default), and its failures."""

    @require(READ)
    async def get(self, request: web.Request, sweep_id: str) -> web.Response:
        checked = _checked_id(sweep_id, "sweep_id")
        wanted = single(query_of(request), "metric")
        metric = _metric(wanted, status=400) if wanted is not None else None

        async def local() -> web.Response:
            state = sweeps.get(checked)
            if state is None:
                raise HttpError(404, f"no sweep {checked}", "sweep_id")
            by = metric or state.metric
            failed = {job_id: r["error"] for job_id, r in state.results.items() if "error" in r}
            done = len(state.results) - len(failed)
            return self.json({
                "sweep_id": checked, "jobs": len(state.jobs), "done": done, "failed": len(failed),
                "pending": len(state.jobs) - len(state.results),
                "status": "done" if len(state.results) == len(state.jobs) else "running",
                "metric": by, "order": "ascending" if by in LOWER_IS_BETTER else "descending",
                "ranking": ranking(state, by), "failures": [{"job_id": j, "error": e} for j, e in failed.items()],
            })  # fmt: skip

        return await routed(self, request, sweeps, checked, local)


async def _shown(written: Callable[[], bool]) -> None:
    """Wait (at most ``R3EDGE_COMMAND_WAIT``) until the agent of this worker wrote what was just
    sent, so a read right after the answer finds it (a busy worker answers before: still queued)."""
    deadline = asyncio.get_running_loop().time() + settings.command_wait
    while not written() and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)


def _links(job_id: str) -> dict[str, str]:
    return {"self": f"/backtests/{job_id}", "report": f"/backtests/{job_id}/report.html"}


def _identified(payload: dict[str, Any], field: str) -> tuple[str, bytes]:
    """The id the body gives in ``field`` (taken out of it) or a new one, and the body to forward
    to the owner with that id in it (so the owner makes the very same one)."""
    raw = payload.pop(field, None)
    if raw is None:
        raw = uuid4().hex[:16]
    if not isinstance(raw, str) or not _ID_RE.match(raw):
        raise HttpError(422, "must be 1-100 letters, digits, '_', '.', ':' or '-'", field)
    return raw, json.dumps({**payload, field: raw}).encode()


def _checked_id(raw: str, field: str = "backtest_id") -> str:
    if not _ID_RE.match(raw):
        raise HttpError(400, "must be 1-100 letters, digits, '_', '.', ':' or '-'", field)
    return raw


def _range(payload: dict[str, Any]) -> tuple[datetime, datetime]:
    start, end = _moment(payload.pop("from", None), "from"), _moment(payload.pop("to", None), "to")
    if start >= end:
        raise HttpError(422, "must be after from", "to")
    return start, end


def _moment(raw: Any, field: str) -> datetime:
    try:
        return parse_time(raw, field)
    except MalformedMessage as exc:
        raise HttpError(422, exc.reason, field) from None


def _spec(payload: dict[str, Any]) -> SessionSpec:
    try:
        return parse_spec(payload, check_spec)
    except BacktestInputError as exc:
        raise HttpError(422, exc.message, exc.field) from None


def _grid(raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, dict) or not raw:
        raise HttpError(422, "must be an object of parameter names to lists of values", "grid")
    for name, values in raw.items():
        if not isinstance(values, list) or not values or len(values) > MAX_JOBS:
            raise HttpError(422, f"must be a list of 1 to {MAX_JOBS} values", f"grid.{name}")
    return grid_points(raw)


def _markets(payload: dict[str, Any]) -> list[dict[str, str]]:
    """The sweep's markets: ``markets`` (a list of exchange, symbol, timeframe), else the body's one."""
    raw = payload.pop("markets", None)
    if raw is None:
        return [{name: payload.pop(name, None) for name in _MARKET_FIELDS}]
    if not isinstance(raw, list) or not raw or len(raw) > MAX_JOBS:
        raise HttpError(422, f"must be a list of 1 to {MAX_JOBS} markets", "markets")
    for market in raw:
        if not isinstance(market, dict) or set(market) != set(_MARKET_FIELDS):
            raise HttpError(422, "each market is an object of exchange, symbol and timeframe", "markets")
    return [dict(market) for market in raw]


def _metric(raw: Any, status: int = 422) -> str:
    """A metric to rank by (422 in a body, 400 in a query, as every other field of each)."""
    if raw not in RANKED_METRICS:
        raise HttpError(status, "must be one of " + ", ".join(RANKED_METRICS), "metric")
    return str(raw)


def _now() -> datetime:
    return datetime.now(timezone.utc)
