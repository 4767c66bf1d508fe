"""Suite-wide hooks: the patience factor and the kinds of failure.

* ``TEST_PATIENCE`` (tests/kit/patience.py) is checked once, shown in the header and
  scales pytest-timeout's per-test limit (``timeout`` in setup.cfg, ``PYTEST_TIMEOUT`` or
  ``--timeout``, or a test's own ``timeout`` marker): each test gets a marker with the scaled limit.
* Each failed test phase is sorted into a kind (tests/kit/verdicts.py), and the session ends
  with a summary that tells wrong results from time-outs.
"""

from __future__ import annotations

from collections.abc import Generator

import pytest
from pytest_timeout import get_env_settings

from tests.kit.patience import ENV_VAR, patience, scaled_timeout_marker
from tests.kit.verdicts import ERROR, Failure, failure_kind, first_line, summary_lines

_KIND = "failure_kind"


def pytest_configure(config: pytest.Config) -> None:
    try:
        patience()
    except ValueError as exc:  # a malformed TEST_PATIENCE stops the run here, with the reason
        raise pytest.UsageError(str(exc)) from None


def pytest_report_header(config: pytest.Config) -> str:
    return f"patience: {ENV_VAR}={patience():g} (every wait of the suite, and the per-test limit, x{patience():g})"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    default = get_env_settings(config).timeout
    for item in items:
        scaled = _scaled_timeout_marker(item, default, patience())
        if scaled is not None:
            item.add_marker(scaled, append=False)  # first, so it is the closest timeout marker


def _scaled_timeout_marker(item: pytest.Item, default: float | None, factor: float) -> pytest.MarkDecorator | None:
    """The item's timeout marker (or the configured default) with its limit times ``factor``."""
    marker = item.get_closest_marker("timeout")
    args, kwargs = (tuple(marker.args), dict(marker.kwargs)) if marker is not None else ((), {})
    scaled = scaled_timeout_marker(args, kwargs, default, factor)
    return pytest.mark.timeout(*scaled[0], **scaled[1]) if scaled is not None else None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report: pytest.TestReport = yield
    if report.failed and call.excinfo is not None:
        exc = call.excinfo.value
        report.user_properties.append((_KIND, (failure_kind(exc), first_line(exc))))
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config) -> None:
    reports = [*terminalreporter.stats.get("failed", []), *terminalreporter.stats.get("error", [])]
    terminalreporter.write_sep("=", "failures by kind")
    for line in summary_lines([_failure(report) for report in reports]):
        terminalreporter.write_line(line)


def _failure(report: pytest.TestReport | pytest.CollectReport) -> Failure:
    """A failed report as a ``Failure``; one without a recorded kind (a collection error) is an error."""
    recorded = dict(getattr(report, "user_properties", [])).get(_KIND)
    kind, message = recorded if recorded is not None else (ERROR, "could not be collected or run")
    return Failure(report.nodeid, getattr(report, "when", None) or "collect", kind, message)
