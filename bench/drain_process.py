"""A spool drain in a process of its own, for bench.ingest's --drain-processes experiment.

`helpdesk smtp` runs the drain as a thread beside the SMTP server, so both
share one interpreter lock. This runs mailgate.drain.SpoolDrainer over the
same spool and database in another process instead; started by
`DrainProcess`, it says "ready" once warm, drains until its standard input
closes, then prints its SQL counts and exits.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from bench.ingest_probes import SqlCounter
from bench.mail_desk import smtp_envelope
from bench.mail_mix import generate_mix
from helpdesk.db import make_engine, make_session_factory
from helpdesk.settings import Settings
from helpdesk.storage import open_blob_store
from mailgate.drain import SpoolDrainer
from mailgate.ingest import Ingest
from mailgate.spool import Spool

# The name of the variable that hands the child the secret key (not an argument: `ps` shows those).
SECRET_VARIABLE = "BENCH_SECRET_KEY"  # noqa: S105 - a name, not a password


class DrainProcess:
    """One drain process over the spool and database of `settings`."""

    def __init__(self, settings: Settings) -> None:
        command = [
            sys.executable,
            "-m",
            "bench.drain_process",
            str(settings.var_dir),
            settings.database_url,
        ]
        environment = os.environ | {SECRET_VARIABLE: settings.secret_key}
        self._process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=environment
        )

    def wait_ready(self) -> None:
        if self._line() != "ready":
            raise RuntimeError("the drain process did not start")

    def stop(self) -> str:
        """Stop draining; return the process's SQL counts."""
        if self._process.stdin is not None:
            self._process.stdin.close()
        counts = self._line()
        self._process.wait(timeout=60)
        return counts

    def _line(self) -> str:
        if self._process.stdout is None:
            raise RuntimeError("the drain process has no pipe")
        return self._process.stdout.readline().strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("var_dir", type=Path)
    parser.add_argument("database_url")
    options = parser.parse_args()
    secret = os.environ[SECRET_VARIABLE]
    settings = Settings.for_var_dir(
        options.var_dir, secret_key=secret, database_url=options.database_url
    )
    sessions = make_session_factory(make_engine(settings.database_url))
    ingest = Ingest(settings, sessions, open_blob_store(settings))
    warmup = generate_mix(1, seed=999)[0]
    ingest.process(warmup.data, smtp_envelope(warmup.sender))  # a duplicate after the first
    counter = SqlCounter(sessions.kw["bind"])
    drainer = SpoolDrainer(Spool(settings.spool_dir), ingest)
    drainer.start()
    print("ready", flush=True)
    sys.stdin.read()
    drainer.stop()
    print(json.dumps(dict(counter.statements)), flush=True)


if __name__ == "__main__":
    main()
