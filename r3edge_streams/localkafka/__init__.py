"""The embedded default broker: a single-node Apache Kafka (KRaft) on loopback, for dev and tests.

In: a state folder and two ports. Out: a running broker+controller whose PID is recorded in
the folder, stopped by that PID. The jars come from Maven Central through the pom beside this
file (cached under ``~/.cache/r3edge_streams``); storage is formatted once per folder.
Only the run command and the test suite use it; a worker never starts a broker itself.
"""

from __future__ import annotations

import base64
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

KAFKA_VERSION = "4.1.1"
HERE = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "r3edge_streams" / f"kafka-{KAFKA_VERSION}"
START_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0


class LocalKafkaError(RuntimeError):
    """The local broker could not be installed, started or stopped; the message says why."""


@dataclass(frozen=True)
class LocalKafka:
    """A broker whose state (config, data, log, PID) lives in ``home``."""

    home: Path
    port: int = 9092
    controller_port: int = 9093
    heap: str = "512m"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def broker_url(self) -> str:
        return f"kafka://{self.bootstrap}"

    @property
    def pid_file(self) -> Path:
        return self.home / "broker.pid"

    @property
    def log_file(self) -> Path:
        return self.home / "broker.log"

    @property
    def meta_file(self) -> Path:
        """Written by formatting; holds the cluster id."""
        return self.home / "data" / "meta.properties"

    def start(self) -> int:
        """Start the broker unless this folder's broker already runs; return its PID."""
        running = self.pid()
        if running is not None and _port_open(self.port):
            return running
        if _port_open(self.port):
            raise LocalKafkaError(f"port {self.port} is taken by another program; set R3EDGE_BROKER to use it")
        if not self.meta_file.exists():
            self.format_storage()
        libs = install_jars()
        return self._launch(libs, self._write_config())

    def stop(self) -> None:
        """Stop this folder's broker by its PID (TERM, then KILL after a grace period)."""
        pid = self.pid()
        if pid is None:
            return
        _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _alive(pid):
            _signal(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)

    def pid(self) -> int | None:
        """The PID of this folder's broker if it is alive."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _alive(pid) and self._runs_our_config(pid) else None

    def _runs_our_config(self, pid: int) -> bool:
        """Guard against a reused PID: the process must be Kafka on this folder's config."""
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return True  # no /proc: trust the PID file
        return b"kafka.Kafka" in cmdline and str(self.home / "server.properties").encode() in cmdline

    def _write_config(self) -> Path:
        data = self.home / "data"
        lines = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": str(data),
            "num.partitions": "1",
            "auto.create.topics.enable": "false",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "8",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "log.retention.hours": "168",
        }
        path = self.home / "server.properties"
        path.write_text("".join(f"{key}={value}\n" for key, value in lines.items()))
        return path

    def format_storage(self, cluster_id: str | None = None) -> str:
        """Format this folder's storage for a new cluster (a fresh id unless given); return the id.

        The id goes as ``--cluster-id=<id>``, one argument, so even a given id beginning with '-'
        (valid for Kafka: base64url of 16 bytes) is never read as an option.
        """
        cid = cluster_id or new_cluster_id()
        libs = install_jars()
        self.home.mkdir(parents=True, exist_ok=True)
        config = self._write_config()
        command = [
            *_java(libs, "256m"),
            "kafka.tools.StorageTool",
            "format",
            f"--cluster-id={cid}",
            f"--config={config}",
        ]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise LocalKafkaError(f"formatting Kafka storage failed: {result.stderr.strip() or result.stdout.strip()}")
        return cid

    def _launch(self, libs: Path, config: Path) -> int:
        log = self.log_file.open("ab")
        process = subprocess.Popen(
            [*_java(libs, self.heap), f"-Dlog4j2.configurationFile={HERE / 'log4j2.yaml'}", "kafka.Kafka", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.pid_file.write_text(str(process.pid))
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise LocalKafkaError(f"Kafka exited with {process.returncode}; last log lines:\n{self._tail()}")
            if _port_open(self.port) and b"Kafka Server started" in self.log_file.read_bytes():
                return process.pid
            time.sleep(0.25)
        self.stop()
        raise LocalKafkaError(f"Kafka did not start within {START_TIMEOUT:.0f}s; last log lines:\n{self._tail()}")

    def _tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def new_cluster_id() -> str:
    """A fresh Kafka cluster id: 16 random bytes, base64url without padding (22 characters).

    Like Kafka's own ``Uuid.randomUuid``, it never begins with '-' (drawn again, 1 time in 64),
    so no command line can take it for an option.
    """
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


def install_jars() -> Path:
    """The folder of Kafka's jars, fetched from Maven Central with Maven on first use."""
    libs = CACHE / "libs"
    marker = CACHE / "complete"
    if marker.exists():
        return libs
    if shutil.which("mvn") is None or shutil.which("java") is None:
        raise LocalKafkaError("the local broker needs Java 17+ and Maven on PATH (or set R3EDGE_BROKER)")
    CACHE.mkdir(parents=True, exist_ok=True)
    command = [
        "mvn",
        "-q",
        "-B",
        "-f",
        str(HERE / "pom.xml"),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={libs}",
        "-DincludeScope=runtime",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        raise LocalKafkaError(f"fetching Kafka {KAFKA_VERSION} with Maven failed:\n{result.stdout[-2000:]}")
    marker.write_text(KAFKA_VERSION)
    return libs


def _java(libs: Path, heap: str) -> list[str]:
    return ["java", f"-Xmx{heap}", f"-Xms{heap}", "-XX:+UseG1GC", "-Djava.awt.headless=true", "-cp", f"{libs}/*"]


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return waited == 0


def _signal(pid: int, sig: signal.Signals) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
