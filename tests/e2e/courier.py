"""What the courier app's browser tests share: ingest, status_api and the tracker on a
loopback port against the test's Kafka topics and Redis, a phone-sized Chromium with a
profile on disk (so IndexedDB and the service worker outlive a restart), and the checks
the screen must pass (contrast, touch targets)."""

from __future__ import annotations

import asyncio
import json
import struct
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web as aiohttp_web
from playwright.async_api import BrowserContext, Page, Playwright, ViewportSize

from shipnotify import kafka
from shipnotify import web as sweb
from shipnotify.config import Settings
from shipnotify.devstack.mail_sandbox import MailSandbox
from shipnotify.devstack.processes import free_port
from shipnotify.ingest import app as ingest_app
from shipnotify.notifier.senders import SmtpEmail
from shipnotify.status_api import app as status_app
from shipnotify.v1 import shipment_events_pb2 as pb
from shipnotify.web.auth import issue_courier_token
from shipnotify.web.serving import serve
from tests.integration.conftest import running_tracker
from tests.integration.test_notifier import running_notifier
from tests.offsets import read_all

from .conftest import CHROMIUM, CHROMIUM_ARGS
from .test_browser import ARTIFACTS

PHONE: ViewportSize = {"width": 390, "height": 844}


@dataclass
class Stack:
    base: str
    settings: Settings
    http: aiohttp.ClientSession
    # the event ids of each upload ingest received (from the page or its worker), in order
    uploads: list[list[str]] = field(default_factory=list)
    # the notifier's emails, received by a real SMTP server
    mail: MailSandbox | None = None

    def token(self, courier_id: str, ttl_s: int = 3600) -> str:
        return issue_courier_token(self.settings.courier_token_secret, courier_id, ttl_s)

    def link(self, token: str) -> str:
        return f"{self.base}/courier/#token={token}"

    async def register(
        self, courier_id: str | None, name: str, phone: str | None, address: str | None
    ) -> tuple[str, str]:
        """A shipment given to `courier_id` (or to nobody) at registration: (shipment id,
        tracking id)."""
        shipment_id = f"run-{uuid.uuid4().hex[:8]}"
        contact: dict[str, Any] = {"name": name, "email": "recipient@example.com"}
        if phone:
            contact["phone"] = phone
        body: dict[str, Any] = {
            "shipment_id": shipment_id,
            "sender": {"contacts": [{"name": "Shop", "email": "shop@example.com"}]},
            "recipient": {"contacts": [contact]},
        }
        if courier_id:
            body["courier_id"] = courier_id
        if address:
            body["delivery_address"] = address
        async with self.http.post(
            f"{self.base}/v1/shipments",
            json=body,
            headers={"X-Api-Key": self.settings.api_keys[0]},
        ) as resp:
            reply = await resp.json()
            assert resp.status == 202, reply
        return shipment_id, str(reply["tracking_id"])

    async def assign(self, shipment_id: str, courier_id: str) -> None:
        async with self.http.put(
            f"{self.base}/v1/shipments/{shipment_id}/courier",
            json={"courier_id": courier_id},
            headers={"X-Api-Key": self.settings.api_keys[0]},
        ) as resp:
            assert resp.status == 202, await resp.text()

    async def run_of(self, token: str) -> dict[str, Any]:
        async with self.http.get(
            f"{self.base}/v1/courier/shipments", headers={"Authorization": f"Bearer {token}"}
        ) as resp:
            body: dict[str, Any] = await resp.json()
            assert resp.status == 200, body
            return body

    async def tracking(self, tracking_id: str) -> dict[str, Any]:
        async with self.http.get(f"{self.base}/v1/track/{tracking_id}") as resp:
            body: dict[str, Any] = await resp.json()
            assert resp.status == 200, body
            return body

    async def taps_on_topic(self, shipment_ids: set[str]) -> list[pb.ShipmentEvent]:
        """Every status change on the events topic of these shipments, in the topic's order
        (one partition a shipment: the order ingest appended them)."""
        records = await read_all(self.settings, self.settings.events_topic)
        events = []
        for record in sorted(records, key=lambda r: (r.partition, r.offset)):
            event = pb.ShipmentEvent.FromString(record.value)
            if event.shipment_id in shipment_ids and event.HasField("status_changed"):
                events.append(event)
        return events


async def _until_ready(http: aiohttp.ClientSession, base: str) -> None:
    for _ in range(400):
        try:
            async with http.get(f"{base}/readyz") as resp:
                if resp.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.05)
    raise AssertionError("ingest never became ready")


@asynccontextmanager
async def running_stack(settings: Settings) -> AsyncIterator[Stack]:
    """ingest and status_api in one app on a free loopback port, as `shipnotify dev` serves
    them, with the tracker applying what ingest appends and the notifier sending its emails
    to a real SMTP server."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with MailSandbox() as mail:
        settings = settings.with_(
            public_url=base,
            http_port=port,
            smtp_host=mail.host,
            smtp_port=mail.port,
            smtp_starttls=False,
            quiet_hours="",
        )
        await kafka.ensure_topics(settings)
        app = sweb.new_app(settings.max_body_bytes)
        uploads: list[list[str]] = []
        app.middlewares.insert(0, _watching(uploads))
        ingest_app.install(app, settings)
        status_app.install(app, settings)
        async with (
            serve(app, "127.0.0.1", port, shutdown_timeout_s=1),
            running_tracker(settings),
            running_notifier(settings, [SmtpEmail(settings)]),
            aiohttp.ClientSession() as http,
        ):
            await _until_ready(http, base)
            yield Stack(base, settings, http, uploads, mail)


def _watching(uploads: list[list[str]]) -> Any:
    """A middleware noting the event ids of each batch upload as it comes in, whoever sends
    it: the page, or its service worker (whose requests the page does not see)."""

    @aiohttp_web.middleware
    async def watch(
        request: aiohttp_web.Request, handler: sweb.Handler
    ) -> aiohttp_web.StreamResponse:
        if request.path == "/v1/events:batch":
            body = json.loads(await request.read())
            uploads.append([e.get("event_id") for e in body.get("events", [])])
        return await handler(request)

    return watch


# A camera that shows a test pattern, allowed without asking.
FAKE_CAMERA = ("--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream")


async def phone(
    pw: Playwright, profile: Path, *, offline: bool = False, args: tuple[str, ...] = ()
) -> BrowserContext:
    """Chromium as a phone, with its profile (IndexedDB, the service worker, caches) in
    `profile`: closing the context closes the browser; the next call is a restart."""
    return await pw.chromium.launch_persistent_context(
        profile,
        executable_path=CHROMIUM,
        args=[*CHROMIUM_ARGS, *args],
        headless=True,
        viewport=PHONE,
        device_scale_factor=1,
        is_mobile=True,
        has_touch=True,
        locale="en-GB",
        offline=offline,
    )


async def first_page(context: BrowserContext) -> Page:
    return context.pages[0] if context.pages else await context.new_page()


async def controlled(page: Page) -> None:
    """Waits until the app's service worker controls the page (it has kept the shell)."""
    await page.wait_for_function(
        "() => navigator.serviceWorker.controller?.state === 'activated'", timeout=20_000
    )


async def app_taps(page: Page) -> list[dict[str, Any]]:
    """The taps as the app keeps them in IndexedDB, in the order made."""
    taps: list[dict[str, Any]] = await page.evaluate(
        """async () => {
          const url = JSON.parse(document.getElementById("config").textContent).worker;
          const queue = await import(new URL("queue.js", new URL(url, location)).href);
          return await queue.all();
        }"""
    )
    return taps


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's signature and IHDR chunk."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert (length, kind) == (13, b"IHDR")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


# The WCAG 2.x contrast of each visible text's colour on the background behind it, as the
# browser computed them: the background is the first opaque one among the element and its
# ancestors (the app draws text on flat colours only).
CONTRAST = """
() => {
  const rgb = (c) => c.match(/[\\d.]+/g).map(Number);
  const lum = ([r, g, b]) => {
    const lin = (v) => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  };
  const behind = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || c[3] === 1) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!n.textContent.trim() || !el.checkVisibility() || el.closest("template")) continue;
    const style = getComputedStyle(el);
    const fg = rgb(style.color), bg = behind(el);
    const [a, b] = [lum(fg.slice(0, 3)), lum(bg)].sort((x, y) => y - x);
    found.push({ text: n.textContent.trim().slice(0, 40), ratio: (a + 0.05) / (b + 0.05),
                 color: style.color, background: `rgb(${bg})` });
  }
  return found;
}
"""

# Each visible control's size on screen (buttons, links, fields, choices).
TARGETS = """
() => [...document.querySelectorAll("button, a[href], input, label.choice")]
  .filter((el) => el.checkVisibility() && el.type !== "radio")
  .map((el) => { const r = el.getBoundingClientRect();
                 return { what: el.outerHTML.slice(0, 60), width: r.width, height: r.height }; })
"""


async def check_readable_and_reachable(page: Page) -> int:
    """Every visible text at least WCAG AA (4.5:1) and every control at least 48 x 48 px;
    returns how many texts were measured."""
    texts = await page.evaluate(CONTRAST)
    poor = [t for t in texts if t["ratio"] < 4.5]
    assert poor == [], poor
    small = [t for t in await page.evaluate(TARGETS) if t["width"] < 48 or t["height"] < 48]
    assert small == [], small
    return len(texts)


async def shoot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    await page.screenshot(path=path)
    return path


def jsonable(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
