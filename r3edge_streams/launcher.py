"""The run command: a supervised worker with its web views, on the embedded broker unless one is configured.

In: ``R3EDGE_*`` settings and extra ``faust worker`` arguments. Out: a worker process
(``faust -A r3edge_streams worker``) kept running: one that ends on its own is restarted with
back-off (:mod:`r3edge_streams.supervisor`), and the command gives up with a non-zero status
when it keeps failing right after starting. When ``R3EDGE_BROKER`` is unset, a local
single-node Kafka in ``var/kafka`` (port ``R3EDGE_EMBEDDED_KAFKA_PORT``) is started first and
outlives worker restarts. SIGINT or SIGTERM stops the worker, then that broker, by PID. When no
API token is configured, a trader token is made once and kept in ``var/api-token`` (mode 0600):
the command prints where it is, never the token.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

from .config import Settings, SettingsError, load_settings
from .localkafka import LocalKafka, LocalKafkaError
from .supervisor import RestartPolicy, StopSignals, Supervisor

KAFKA_HOME = Path("var/kafka")
TOKEN_FILE = Path("var/api-token")
_FAUST_LEVELS = {"warning": "warn", "critical": "crit"}


def main(argv: list[str]) -> int:
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    signals = StopSignals().install()  # from here a Ctrl-C never leaves a broker behind
    env = os.environ.copy()
    broker = None
    if settings.embedded_broker:
        port = settings.embedded_kafka_port
        broker = LocalKafka(KAFKA_HOME.resolve(), port=port, controller_port=port + 1)
        try:
            pid = broker.start()
        except LocalKafkaError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        env["R3EDGE_BROKER"] = broker.broker_url
        print(f"r3edge: embedded Kafka on {broker.bootstrap} (pid {pid}, log {broker.log_file})", flush=True)
    try:
        return _supervise(settings, argv, env, signals)
    finally:
        if broker is not None:
            broker.stop()
            print("r3edge: embedded Kafka stopped", flush=True)


def _supervise(settings: Settings, argv: list[str], env: dict[str, str], signals: StopSignals) -> int:
    """Run the worker under supervision until a stop signal or until its restarts are given up."""
    if not settings.api_tokens:
        env["R3EDGE_API_TOKENS"] = f"trader:{_local_token()}"
        print(
            f"r3edge: API trader token in {TOKEN_FILE.resolve()} (send it as 'Authorization: Bearer <token>')",
            flush=True,
        )
    faust = str(Path(sys.executable).with_name("faust"))
    level = _FAUST_LEVELS.get(settings.log_level, settings.log_level)
    command = [faust, "-A", "r3edge_streams", "worker", "-l", level, *argv]
    print(f"r3edge: worker web views on {settings.canonical_url} (try {settings.canonical_url}/sessions)", flush=True)
    return Supervisor(command, env, RestartPolicy(), signals).run()


def _local_token() -> str:
    """This checkout's trader token, made on first use (readable by its owner only)."""
    if not TOKEN_FILE.exists():
        TOKEN_FILE.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(TOKEN_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(32) + "\n")
    return TOKEN_FILE.read_text().strip()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
