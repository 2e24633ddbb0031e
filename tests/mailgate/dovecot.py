"""Run a throwaway dovecot IMAP server on loopback, with its own config and users."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from imapclient import IMAPClient

from tests.servers import free_port, missing, wait_for_port

_CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_login_user = dovenull
default_internal_user = dovecot
default_internal_group = dovecot
first_valid_uid = 1
mail_location = maildir:{base}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {base}/users
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={base}/mail/%u
}}
# No growing delays after failed logins (the wrong-password test makes them).
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


@dataclass(frozen=True)
class Dovecot:
    """A running dovecot: where it listens, its users' mail, and how to restart it."""

    base: Path
    port: int

    @property
    def config(self) -> Path:
        return self.base / "dovecot.conf"

    def url(self, user: str, folder: str = "") -> str:
        """Return the mailbox URL the poller reads, imap:// (no TLS on loopback)."""
        return f"imap://{user}@127.0.0.1:{self.port}/{folder}"

    @contextlib.contextmanager
    def client(self, user: str, password: str) -> Iterator[IMAPClient]:
        """Log in as another mail program would, to put messages in place or read them."""
        client = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=10)
        try:
            client.login(user, password)
            yield client
        finally:
            with contextlib.suppress(Exception):
                client.logout()

    def start(self) -> None:
        _run(["dovecot", "-c", str(self.config)], self.base / "stderr")
        wait_for_port(self.port)

    def stop(self) -> None:
        """Kill the server and every process of it at once, as a crash of its host would.

        dovecot's own `stop` lets imap processes serving clients live on for a
        while, and its master may spawn new ones as it goes; the master is
        frozen first, so that the processes found are all there are.
        """
        master = int((self.base / "run" / "master.pid").read_text())
        os.kill(master, signal.SIGSTOP)
        processes = [*_descendants(master), master]
        for pid in processes:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in processes) and time.monotonic() < deadline:
            time.sleep(0.02)
        # A killed master nobody reaped still has its process id: dovecot would
        # take it for a running server and refuse to start again.
        (self.base / "run" / "master.pid").unlink(missing_ok=True)


@contextlib.contextmanager
def dovecot_server(users: dict[str, str], *, idle: bool = True) -> Iterator[Dovecot]:
    """Start dovecot with these users (name: password) and stop it afterwards.

    `idle=False` leaves IDLE out of the capabilities, as some servers do.
    """
    if shutil.which("dovecot") is None:
        missing("dovecot (dovecot-imapd)")
        raise AssertionError("unreachable")
    # pytest's temporary directories are private to root; the mail belongs to
    # nobody, so every directory above it must be traversable.
    base = Path(tempfile.mkdtemp(prefix="helpdesk-imap-"))
    base.chmod(0o755)
    server = Dovecot(base, free_port())
    try:
        _prepare(server, users, idle)
        server.start()
        try:
            yield server
        finally:
            with contextlib.suppress(RuntimeError, OSError):
                server.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _prepare(server: Dovecot, users: dict[str, str], idle: bool) -> None:
    base = server.base
    (base / "mail").mkdir()
    shutil.chown(base / "mail", "nobody", "nogroup")
    lines = [f"{name}:{{PLAIN}}{password}::::::" for name, password in users.items()]
    (base / "users").write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = _CONFIG.format(base=base, port=server.port)
    if not idle:
        config += "imap_capability = IMAP4rev1 LITERAL+ UIDPLUS\n"
    server.config.write_text(config, encoding="utf-8")


def _run(command: list[str], log: Path) -> None:
    # dovecot goes to the background keeping its standard streams: a pipe
    # would never close, so its output goes to a file.
    with log.open("ab") as output:
        result = subprocess.run(
            command, stdin=subprocess.DEVNULL, stdout=output, stderr=output, check=False
        )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {log.read_text(errors='replace')}")


def _descendants(pid: int) -> list[int]:
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            # The command name in parentheses may hold spaces; the parent id follows it.
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, ppid in parents.items() if ppid == parent]
        found.extend(children)
        frontier.extend(children)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    # A killed process nobody has reaped yet is a zombie: it serves nothing.
    return state != "Z"


class CuttingProxy:
    """A TCP relay to a server that drops the connection once, in the middle of a marker.

    The client gets the server's bytes up to the first occurrence of `marker`,
    and then the connection is closed under it, as a network failure would.
    """

    def __init__(self, upstream_port: int, marker: bytes) -> None:
        self.upstream_port = upstream_port
        self.marker = marker
        self.cut = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self.listener.close()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = self.listener.accept()
                server = socket.create_connection(("127.0.0.1", self.upstream_port))
                threading.Thread(target=self._pump, args=(client, server), daemon=True).start()
                threading.Thread(target=self._relay, args=(server, client), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        _close(source, sink)

    def _relay(self, server: socket.socket, client: socket.socket) -> None:
        seen = b""
        with contextlib.suppress(OSError):
            while chunk := server.recv(65536):
                if not self.cut.is_set():
                    window = seen + chunk
                    found = window.find(self.marker)
                    if found >= 0:
                        self.cut.set()
                        client.sendall(window[len(seen) : found] if found > len(seen) else b"")
                        break
                    seen = window[-len(self.marker) :]
                client.sendall(chunk)
        _close(server, client)


def _close(*sockets: socket.socket) -> None:
    for each in sockets:
        with contextlib.suppress(OSError):
            each.shutdown(socket.SHUT_RDWR)
        each.close()
