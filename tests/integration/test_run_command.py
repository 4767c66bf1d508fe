"""The run command supervises its worker: a killed worker comes back on the same broker; a signal stops both.

In: the real launcher (``python -m r3edge_streams.launcher``) in a temporary folder, starting
its own embedded broker on free loopback ports; and the supervisor alone with tiny stand-in
workers (``python -c ...``). Out: after a SIGKILL of the worker a new worker answers
``GET /health`` while the broker keeps its PID; SIGINT ends worker, broker and launcher (0);
a worker that keeps failing at once is given up with a message and its non-zero code; a stop
signal cuts a back-off wait short; a worker deaf to SIGTERM is killed after the grace period.
Every process a test starts runs in that test's folder, and is killed by PID at the end
(found through ``/proc/<pid>/cwd``), whatever the outcome.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest

from r3edge_streams.localkafka import free_port
from tests.kit.http import request, wait_for

PROJECT = Path(__file__).resolve().parents[2]

#: runs the supervisor alone; argv[1] is JSON: the stand-in worker's code, the policy, the grace period
SUPERVISE = """
import json, os, sys
from r3edge_streams.supervisor import RestartPolicy, StopSignals, Supervisor
spec = json.loads(sys.argv[1])
signals = StopSignals().install()
supervisor = Supervisor([sys.executable, "-c", spec["worker"]], dict(os.environ), RestartPolicy(**spec["policy"]),
                        signals, stop_timeout=spec["stop_timeout"])
sys.exit(supervisor.run())
"""


@contextmanager
def launched(command: list[str], folder: Path, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command`` in ``folder`` (output in ``folder/out.log``); at the end kill it and
    every process still working in ``folder`` (its workers, its broker), by PID."""
    folder.mkdir(parents=True, exist_ok=True)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("R3EDGE_")}
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT), os.environ.get("PYTHONPATH")]))
    environment.update(env)
    with (folder / "out.log").open("wb") as log:
        process = subprocess.Popen(
            command, cwd=folder, env=environment, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        _kill_all_in(folder)


def _kill_all_in(folder: Path) -> None:
    for pid in _working_in(folder):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    wait_for(lambda: not [pid for pid in _working_in(folder) if _alive(pid)], 20, what=f"processes in {folder} to end")


def _working_in(folder: Path) -> list[int]:
    """PIDs of the live processes whose current directory is ``folder`` (only ours can be)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and Path(os.readlink(entry / "cwd")) == folder.resolve():
                found.append(int(entry.name))
        except OSError:
            continue  # gone, or another user's
    return found


def _alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie (a zombie has ended; only its exit status is left)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _children(pid: int) -> list[int]:
    pids: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            pids += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return pids


def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def _live_worker(launcher: int) -> int | None:
    """The launcher's live faust worker child, if there is one."""
    workers = [
        pid
        for pid in _children(launcher)
        if _alive(pid) and "worker" in _cmdline(pid) and any(part.endswith("faust") for part in _cmdline(pid))
    ]
    return workers[0] if len(workers) == 1 else None


def _free_port_pair() -> int:
    """A loopback port ``p`` with ``p + 1`` free as well (the broker and its controller)."""
    for _ in range(50):
        port = free_port()
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise AssertionError("no two consecutive free ports on loopback")


def _pid_in(path: Path) -> int | None:
    try:
        return int(path.read_text())
    except (OSError, ValueError):
        return None  # not written yet, or being written


def _health(port: int) -> bool:
    return request("GET", f"http://127.0.0.1:{port}/health", timeout=2, token=None).status == 200


def _output(folder: Path) -> str:
    return (folder / "out.log").read_text(errors="replace")


@pytest.mark.timeout(240)
def test_a_killed_worker_is_restarted_on_the_same_broker_and_sigint_stops_both(tmp_path: Path) -> None:
    run, web_port = tmp_path / "run", free_port()
    command = [sys.executable, "-m", "r3edge_streams.launcher"]
    with launched(
        command,
        run,
        R3EDGE_EMBEDDED_KAFKA_PORT=str(_free_port_pair()),
        R3EDGE_WEB_PORT=str(web_port),
        R3EDGE_PARTITIONS="2",
    ) as launcher:
        try:
            pid_file = run / "var" / "kafka" / "broker.pid"
            broker = wait_for(lambda: _pid_in(pid_file), 120, what="the broker's PID")
            first = wait_for(lambda: _live_worker(launcher.pid), 150, what="the first worker")
            wait_for(lambda: _health(web_port), 90, what="the first worker's /health")

            os.kill(first, signal.SIGKILL)
            second = wait_for(lambda: (pid := _live_worker(launcher.pid)) != first and pid, 30, what="a new worker")
            wait_for(lambda: _health(web_port), 90, what="the new worker's /health")
            assert _alive(broker) and _pid_in(pid_file) == broker and broker in _children(launcher.pid)
            assert f"worker (pid {first}) exited with signal SIGKILL" in _output(run)
            assert "restarting it in 1 s" in _output(run)

            launcher.send_signal(signal.SIGINT)
            assert launcher.wait(90) == 0
            assert not _alive(second) and not _alive(broker)
            assert "embedded Kafka stopped" in _output(run)
        except BaseException:
            print(_output(run)[-6000:])
            raise


def supervise(
    folder: Path, worker: str, stop_timeout: float = 30.0, **policy: float
) -> AbstractContextManager[subprocess.Popen[bytes]]:
    """The supervisor alone, running ``worker`` (Python code) under ``RestartPolicy(**policy)``."""
    spec = {"worker": worker, "policy": policy, "stop_timeout": stop_timeout}
    return launched([sys.executable, "-c", SUPERVISE, json.dumps(spec)], folder)


@pytest.mark.parametrize("code", [3, 0])
def test_a_worker_that_fails_at_once_every_time_is_given_up(tmp_path: Path, code: int) -> None:
    worker = f"import sys; sys.exit({code})"
    with supervise(tmp_path, worker, initial=0.05, give_up_after=3) as supervisor:
        assert supervisor.wait(30) == (code or 1)
        output = _output(tmp_path)
        assert output.count(f"exited with code {code}") == 2 and "restarting it in 0.05 s" in output
        assert "restarting it in 0.1 s" in output
        assert f"ended 3 times in a row within 30 s of starting (last: code {code})" in output


def test_a_stop_signal_ends_a_back_off_wait_at_once(tmp_path: Path) -> None:
    with supervise(tmp_path, "import sys; sys.exit(4)", initial=60, maximum=60) as supervisor:
        wait_for(lambda: "restarting it in 60 s" in _output(tmp_path), 30, what="the back-off wait")
        asked = time.monotonic()
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(10) == 0
        assert time.monotonic() - asked < 3
        assert "stopped while waiting to restart the worker" in _output(tmp_path)
        assert _output(tmp_path).count("worker started") == 1


def test_a_worker_deaf_to_the_stop_signal_is_killed_after_the_grace_period(tmp_path: Path) -> None:
    deaf = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('deaf', flush=True); time.sleep(120)"
    )
    with supervise(tmp_path, deaf, stop_timeout=1) as supervisor:
        wait_for(lambda: "deaf" in _output(tmp_path), 30, what="the stand-in worker")
        worker = _children(supervisor.pid)[0]
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(15) == 0
        assert not _alive(worker)
        output = _output(tmp_path)
        assert "did not stop within 1 s of SIGTERM; killing it" in output
        assert f"worker (pid {worker}) stopped (signal SIGKILL)" in output
