"""The run command: a worker with its web views, on the embedded broker unless one is configured.

In: ``R3EDGE_*`` settings and extra ``faust worker`` arguments. Out: a running worker process
(``faust -A r3edge_streams worker``); when ``R3EDGE_BROKER`` is unset, a local single-node
Kafka in ``var/kafka`` (port ``R3EDGE_EMBEDDED_KAFKA_PORT``) started first and stopped by its
PID when the worker ends. When no API
token is configured, a trader token is made once and kept in ``var/api-token`` (mode 0600):
the command prints where it is, never the token.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

from .config import SettingsError, load_settings
from .localkafka import LocalKafka, LocalKafkaError

KAFKA_HOME = Path("var/kafka")
TOKEN_FILE = Path("var/api-token")
_FAUST_LEVELS = {"warning": "warn", "critical": "crit"}


def main(argv: list[str]) -> int:
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    port = settings.embedded_kafka_port
    broker = LocalKafka(KAFKA_HOME.resolve(), port=port, controller_port=port + 1) if settings.embedded_broker else None
    env = os.environ.copy()
    if broker is not None:
        try:
            pid = broker.start()
        except LocalKafkaError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        env["R3EDGE_BROKER"] = broker.broker_url
        print(f"r3edge: embedded Kafka on {broker.bootstrap} (pid {pid}, log {broker.log_file})", flush=True)
    if not settings.api_tokens:
        env["R3EDGE_API_TOKENS"] = f"trader:{_local_token()}"
        print(f"r3edge: API trader token in {TOKEN_FILE.resolve()} (send it as 'Authorization: Bearer <token>')",
              flush=True)
    faust = str(Path(sys.executable).with_name("faust"))
    level = _FAUST_LEVELS.get(settings.log_level, settings.log_level)
    command = [faust, "-A", "r3edge_streams", "worker", "-l", level, *argv]
    print(f"r3edge: worker web views on {settings.canonical_url} (try {settings.canonical_url}/sessions)", flush=True)
    try:
        return _run_worker(command, env)
    finally:
        if broker is not None:
            broker.stop()
            print("r3edge: embedded Kafka stopped", flush=True)


def _local_token() -> str:
    """This checkout's trader token, made on first use (readable by its owner only)."""
    if not TOKEN_FILE.exists():
        TOKEN_FILE.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(TOKEN_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(32) + "\n")
    return TOKEN_FILE.read_text().strip()


def _run_worker(command: list[str], env: dict[str, str]) -> int:
    worker = subprocess.Popen(command, env=env)

    def forward(signum: int, _frame: object) -> None:
        worker.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    return worker.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
