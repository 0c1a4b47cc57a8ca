"""A desktop's notification server, for the browser tests: Chromium on Linux hands every
notice a page or a service worker shows to the notification server of its session's D-Bus
(org.freedesktop.Notifications, the Desktop Notifications Specification), and hears from
it when the reader clicks one (the signal ActionInvoked with the action "default"). Here
that server is ours, on a D-Bus of the test's own (Debian's dbus-daemon), so a test sees
each notice as the desktop would and clicks it as a reader would: the browser then runs
its real click path (the worker's notificationclick, with the right to open a window).

Chromium finds notices again by their profile: clicks reach a persistent profile's notices
(launch_persistent_context), not those of Playwright's throwaway contexts."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jeepney import (
    DBusAddress,
    HeaderFields,
    Message,
    MessageType,
    new_error,
    new_method_return,
    new_signal,
)
from jeepney.bus_messages import message_bus
from jeepney.io.asyncio import DBusConnection, open_dbus_connection

NAME = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"

_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


@contextlib.contextmanager
def session_bus(workdir: Path) -> Iterator[str]:
    """A dbus-daemon of the test's own; yields its address (DBUS_SESSION_BUS_ADDRESS)."""
    config = workdir / "bus.conf"
    config.write_text(_CONFIG.format(socket=workdir / "bus"))
    daemon = subprocess.Popen(
        ["dbus-daemon", f"--config-file={config}", "--nofork", "--print-address"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert daemon.stdout is not None
        address = daemon.stdout.readline().strip()
        assert address.startswith("unix:"), address
        yield address
    finally:
        daemon.terminate()
        daemon.wait(10)
        if daemon.stdout is not None:
            daemon.stdout.close()


@dataclass(frozen=True)
class Shown:
    id: int
    app: str
    summary: str  # the notice's title
    body: str
    actions: list[str]


class NotificationServer:
    """Shows nothing: keeps what it was given (`shown`), and clicks on demand."""

    def __init__(self) -> None:
        self.shown: list[Shown] = []
        self.closed: list[int] = []  # ids the browser closed (a click handler does)
        self._connection: DBusConnection | None = None
        self._changed = asyncio.Event()

    @contextlib.asynccontextmanager
    async def serving(self, address: str) -> Any:
        self._connection = await open_dbus_connection(bus=address)
        await self._connection.send(message_bus.RequestName(NAME))
        task = asyncio.create_task(self._serve(self._connection))
        try:
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await self._connection.close()

    async def _serve(self, connection: DBusConnection) -> None:
        while True:
            message = await connection.receive()
            if message.header.message_type == MessageType.method_call:
                await connection.send(self._answer(message))

    def _answer(self, call: Message) -> Message:
        member = call.header.fields.get(HeaderFields.member)
        if member == "GetCapabilities":
            # persistence: a notice stays until closed, so Chromium lists the notices it has
            # shown (registration.getNotifications) by what the server still shows
            return new_method_return(call, "as", (["actions", "body", "persistence"],))
        if member == "GetServerInformation":
            return new_method_return(call, "ssss", ("stand-in", "shipnotify tests", "1", "1.2"))
        if member == "Notify":
            app, _replaces, _icon, summary, body, actions, _hints, _timeout = call.body
            shown = Shown(len(self.shown) + 1, app, summary, body, list(actions))
            self.shown.append(shown)
            self._changed.set()
            return new_method_return(call, "u", (shown.id,))
        if member == "CloseNotification":
            (notice_id,) = call.body
            self.closed.append(notice_id)
            self._changed.set()
            return new_method_return(call)
        return new_error(call, "org.freedesktop.DBus.Error.UnknownMethod")

    async def click(self, shown: Shown) -> None:
        """What a reader's click on the notice's body says to the browser."""
        assert self._connection is not None
        emitter = DBusAddress(PATH, interface=NAME)
        signal = new_signal(emitter, "ActionInvoked", "us", (shown.id, "default"))
        await self._connection.send(signal)

    async def until(self, seen: Any, timeout_s: float = 10.0) -> None:
        """Waits until `seen()` is true of what the browser has shown and closed."""
        async with asyncio.timeout(timeout_s):
            while not seen():
                self._changed.clear()
                await self._changed.wait()
