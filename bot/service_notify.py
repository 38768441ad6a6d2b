"""systemd's notify protocol, without a dependency: one datagram per message to the socket
named in $NOTIFY_SOCKET (sd_notify(3)).

With `Type=notify` systemd counts the service as started only once it says READY=1, and
with `WatchdogSec=` it restarts a service that stops sending WATCHDOG=1 (the bot pings only
while its update loop is alive). Outside systemd, $NOTIFY_SOCKET is unset and every call
does nothing. A failed send is logged once and never raised: telling systemd must not take
the bot down.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

logger = logging.getLogger(__name__)

NOTIFY_SOCKET_ENV = "NOTIFY_SOCKET"
WATCHDOG_USEC_ENV = "WATCHDOG_USEC"
WATCHDOG_PID_ENV = "WATCHDOG_PID"


class ServiceNotifier:
    """Sends READY=1, WATCHDOG=1, STOPPING=1 and STATUS= lines to systemd, if it listens."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        environ = os.environ if environ is None else environ
        address = environ.get(NOTIFY_SOCKET_ENV, "")
        # "@name" is a socket in the abstract namespace (Linux): its name starts with NUL.
        self._address = "\0" + address[1:] if address.startswith("@") else address
        self.watchdog_seconds = _watchdog_seconds(environ)
        self._failed = False

    @property
    def enabled(self) -> bool:
        return bool(self._address)

    def ready(self, status: str = "") -> bool:
        return self.notify("READY=1", *([f"STATUS={status}"] if status else []))

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")

    def status(self, text: str) -> bool:
        return self.notify(f"STATUS={text}")

    def notify(self, *lines: str) -> bool:
        """Send `lines` in one datagram; True if systemd got it (False: not under systemd,
        or the send failed)."""
        if not self._address:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto("\n".join(lines).encode("utf-8"), self._address)
        except OSError as error:
            if not self._failed:
                self._failed = True
                logger.warning("cannot notify systemd at %s: %s", self._address, error)
            return False
        return True


def _watchdog_seconds(environ: Mapping[str, str]) -> float | None:
    """systemd's WatchdogSec= for this process (None: no watchdog)."""
    try:
        microseconds = int(environ.get(WATCHDOG_USEC_ENV, ""))
    except ValueError:
        return None
    pid = environ.get(WATCHDOG_PID_ENV, "")
    if microseconds <= 0 or (pid and pid != str(os.getpid())):
        return None
    return microseconds / 1_000_000
