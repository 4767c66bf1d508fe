"""Command line of the embedded broker: ``python -m r3edge_streams.localkafka install|start|stop|status``.

In: a state folder (``--home``, default ``var/kafka``) and ports. Out: the broker started or
stopped by its PID; ``start`` prints the bootstrap address.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import LocalKafka, LocalKafkaError, install_jars


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m r3edge_streams.localkafka")
    parser.add_argument("action", choices=["install", "start", "stop", "status"])
    parser.add_argument("--home", type=Path, default=Path("var/kafka"))
    parser.add_argument("--port", type=int, default=9092)
    parser.add_argument("--controller-port", type=int, default=9093)
    args = parser.parse_args(argv)
    broker = LocalKafka(args.home.resolve(), args.port, args.controller_port)
    try:
        if args.action == "install":
            print(f"Kafka jars in {install_jars()}")
        elif args.action == "start":
            started = broker.start()
            print(f"Kafka {broker.bootstrap} running, pid {started}, log {broker.log_file}")
        elif args.action == "stop":
            broker.stop()
            print("Kafka stopped")
        else:
            pid = broker.pid()
            print(f"Kafka running, pid {pid}" if pid else "Kafka not running")
            return 0 if pid else 1
    except LocalKafkaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
