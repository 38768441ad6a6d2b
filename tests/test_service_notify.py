"""The notify client speaks systemd's protocol: datagrams to $NOTIFY_SOCKET, nothing when
it is unset, and a dead socket never raises."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.service_notify import ServiceNotifier


@pytest.fixture
def systemd_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = str(tmp_path / "notify")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(path)
    listener.settimeout(5)
    yield listener, path
    listener.close()


def test_ready_and_watchdog_reach_the_socket(systemd_socket: tuple[socket.socket, str]) -> None:
    listener, path = systemd_socket
    notifier = ServiceNotifier({"NOTIFY_SOCKET": path})
    assert notifier.ready("answering")
    assert listener.recv(4096) == b"READY=1\nSTATUS=answering"
    assert notifier.watchdog()
    assert listener.recv(4096) == b"WATCHDOG=1"


def test_an_abstract_socket_name_is_understood() -> None:
    name = f"ascs-notify-test-{os.getpid()}"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind("\0" + name)
    listener.settimeout(5)
    try:
        assert ServiceNotifier({"NOTIFY_SOCKET": "@" + name}).stopping()
        assert listener.recv(4096) == b"STOPPING=1"
    finally:
        listener.close()


def test_outside_systemd_nothing_is_sent() -> None:
    notifier = ServiceNotifier({})
    assert not notifier.enabled
    assert not notifier.ready()
    assert notifier.watchdog_seconds is None


def test_a_socket_that_went_away_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    notifier = ServiceNotifier({"NOTIFY_SOCKET": str(tmp_path / "gone")})
    assert not notifier.watchdog()
    assert not notifier.watchdog()
    assert len([r for r in caplog.records if "cannot notify systemd" in r.message]) == 1


def test_the_watchdog_interval_is_for_this_process_only() -> None:
    mine = ServiceNotifier({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())})
    assert mine.watchdog_seconds == 30.0
    other = ServiceNotifier({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"})
    assert other.watchdog_seconds is None
