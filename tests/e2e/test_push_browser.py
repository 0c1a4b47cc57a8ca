"""Push notices on the tracking page, in a real headless Chromium (phone-sized) against
`shipnotify dev` with a VAPID key. What is real here and what stands in:

- The service worker is the page's own (/static/push-worker.js, registered with the scope
  /t/ from the tracking page), run by Chromium. A push message is delivered to it by
  Chromium's DevTools (ServiceWorker.deliverPushMessage): the browser's push event with our
  payload, as a push service's message decrypted by the browser would arrive. No push
  service is involved (none is reachable here).
- The notice the worker shows is read back from the browser (registration.getNotifications)
  and from the desktop notification server Chromium hands it to. That server is the test's
  (desktop_notices.py, on a D-Bus of its own): it shows nothing, and it clicks a notice the
  way a desktop reports a reader's click. From that signal on, everything is the browser's
  own: notificationclick in the worker, with the right to open a window, and the tab it
  opens.
- Subscribing: Chromium cannot subscribe here. In a throwaway (incognito) context, as
  Playwright makes them, PushManager.subscribe() fails at once (Chromium has no Push API
  in incognito); in a persistent profile it waits for Google's push service, which this
  machine cannot reach. So the offer, the permission request, the worker's registration
  and the failure said in words are tested for real; the subscription's journey from the
  page to hooks and the events topic (and back with Stop) is tested with a stand-in for the
  one browser call that would reach a push service, PushManager.subscribe() (and
  getSubscription), whose answer is a subscription object as a browser makes it. The
  request, CORS, hooks, Kafka and the page's words are real.

Screenshots go to tests/e2e/artifacts/.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from playwright.async_api import (
    Browser,
    BrowserContext,
    CDPSession,
    Page,
    Playwright,
    ViewportSize,
    async_playwright,
    expect,
)

from shipnotify.v1 import shipment_events_pb2 as pb
from tests.integration.conftest import eventually

from .conftest import CHROMIUM, CHROMIUM_ARGS, VAPID_PUBLIC_KEY
from .desktop_notices import NotificationServer, session_bus
from .test_browser import ARTIFACTS, _ship, _tap, _wait_for_tracking

PHONE: ViewportSize = {"width": 390, "height": 844}


@pytest.fixture
async def playwright() -> AsyncIterator[Playwright]:
    async with async_playwright() as p:
        yield p


@pytest.fixture
async def browser(playwright: Playwright) -> AsyncIterator[Browser]:
    chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield chromium
    await chromium.close()


@pytest.fixture
async def desktop(tmp_path: Path) -> AsyncIterator[tuple[str, NotificationServer]]:
    """A session D-Bus with the test's notification server on it: (its address, the server)."""
    with session_bus(tmp_path) as address:
        server = NotificationServer()
        async with server.serving(address):
            yield address, server


@pytest.fixture
async def profile(
    playwright: Playwright, desktop: tuple[str, NotificationServer], tmp_path: Path, dev: str
) -> AsyncIterator[BrowserContext]:
    """Chromium with a persistent profile, on the test's desktop D-Bus, notifications
    allowed for the dev stack's origin."""
    address, _ = desktop
    context = await playwright.chromium.launch_persistent_context(
        str(tmp_path / "profile"),
        executable_path=CHROMIUM,
        args=CHROMIUM_ARGS,
        env={**os.environ, "DBUS_SESSION_BUS_ADDRESS": address},
        viewport=PHONE,
        locale="en-GB",
    )
    await context.grant_permissions(["notifications"], origin=dev)
    yield context
    await context.close()


def _config(html: str) -> dict[str, Any]:
    (data,) = re.findall(r'<script type="application/json" id="page-data">(.*?)</script>', html)
    config: dict[str, Any] = json.loads(data)
    return config


REGISTER = """async ([worker, scope]) => {
  await navigator.serviceWorker.register(worker, {scope});
  return (await navigator.serviceWorker.ready).scope;
}"""

NOTICES = """async () => {
  const registration = await navigator.serviceWorker.ready;
  return (await registration.getNotifications()).map((n) => (
    {title: n.title, body: n.body, tag: n.tag, lang: n.lang, data: n.data}));
}"""


async def _with_worker(page: Page, cdp: CDPSession, dev: str, url: str) -> str:
    """Opens the tracking page, registers its worker as the page's script does (its URL and
    scope from the page's data block) and returns the registration's DevTools id."""
    registrations: list[dict[str, Any]] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda event: registrations.extend(event["registrations"]),
    )
    await cdp.send("ServiceWorker.enable")
    await page.goto(url)
    push = _config(await page.content())["push"]
    assert push["key"] == VAPID_PUBLIC_KEY
    assert await page.evaluate(REGISTER, [push["worker"], push["scope"]]) == f"{dev}/t/"

    async def registered() -> str | None:
        ids = [r["registrationId"] for r in registrations if r["scopeURL"] == f"{dev}/t/"]
        return ids[-1] if ids else None

    return await eventually(registered)


def _payload(url: str, shipment_id: str) -> dict[str, str]:
    """What the notifier sends: {"title", "body", "url", "tag", "lang"}."""
    return {
        "title": "Out for delivery",
        "body": "Your parcel is on its way to you today.",
        "url": url,
        "tag": f"shipment-{shipment_id}",
        "lang": "en",
    }


async def _push(cdp: CDPSession, dev: str, registration_id: str, payload: dict[str, str]) -> None:
    await cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": dev, "registrationId": registration_id, "data": json.dumps(payload)},
    )


@pytest.mark.timeout(180)
async def test_a_push_message_shows_the_shipments_notice(
    dev: str, profile: BrowserContext, desktop: tuple[str, NotificationServer]
) -> None:
    _, server = desktop
    shipment_id, url = _ship(dev)
    _wait_for_tracking(url)
    page = await profile.new_page()
    cdp = await profile.new_cdp_session(page)
    registration = await _with_worker(page, cdp, dev, url)
    payload = _payload(url, shipment_id)

    await _push(cdp, dev, registration, payload)
    # The browser hands it to the desktop; only then does it list it (it lists a notice it
    # stored only while the desktop shows it).
    await server.until(lambda: server.shown)
    [desktop_notice] = server.shown
    assert desktop_notice.summary == payload["title"]
    assert payload["body"] in desktop_notice.body
    assert "default" in desktop_notice.actions  # its body can be clicked

    async def shown() -> list[dict[str, Any]]:
        notices: list[dict[str, Any]] = await page.evaluate(NOTICES)
        return notices

    [notice] = await eventually(shown)
    assert notice == {
        "title": payload["title"],
        "body": payload["body"],
        "tag": payload["tag"],
        "lang": "en",
        "data": {"url": url},
    }
    # the same tag again replaces the notice rather than adding one
    await _push(cdp, dev, registration, {**payload, "title": "Delivered", "body": "Delivered."})
    await server.until(lambda: len(server.shown) == 2)

    async def replaced() -> list[dict[str, Any]] | None:
        notices = await shown()
        return notices if [n["title"] for n in notices] == ["Delivered"] else None

    await eventually(replaced)


@pytest.mark.timeout(180)
async def test_clicking_the_notice_opens_the_tracking_page(
    dev: str, profile: BrowserContext, desktop: tuple[str, NotificationServer]
) -> None:
    _, server = desktop
    shipment_id, url = _ship(dev)
    _tap(dev, shipment_id, "out_for_delivery")
    _wait_for_tracking(url)
    [blank] = profile.pages  # the profile's first tab, kept open: the browser's window
    cdp = await profile.new_cdp_session(blank)
    page = await profile.new_page()
    registration = await _with_worker(page, cdp, dev, url)
    await page.close()
    assert [p.url for p in profile.pages] == ["about:blank"]

    await _push(cdp, dev, registration, _payload(url, shipment_id))
    await server.until(lambda: len(server.shown) == 1)
    async with profile.expect_page() as opening:
        await server.click(server.shown[0])
    opened = await opening.value
    await opened.wait_for_load_state()
    assert opened.url == url
    await expect(opened.get_by_test_id("status")).to_contain_text("Out for delivery")
    await server.until(lambda: server.closed == [1])  # the worker closed the clicked notice

    # With the page open (here in another language), a click brings that tab forward
    # rather than opening another.
    await opened.goto(url + "?lang=ro")
    await _push(cdp, dev, registration, {**_payload(url, shipment_id), "tag": "second"})
    await server.until(lambda: len(server.shown) == 2)
    await server.click(server.shown[1])
    await server.until(lambda: server.closed == [1, 2])
    await asyncio.sleep(1.0)  # time for a tab the worker would wrongly open
    assert [p.url for p in profile.pages] == ["about:blank", url + "?lang=ro"]


# -- the offer on the page: what Chromium lets a test do for real


async def _phone(browser: Browser, dev: str, **options: Any) -> BrowserContext:
    return await browser.new_context(
        viewport=PHONE, locale="en-GB", timezone_id="Europe/Chisinau", **options
    )


@pytest.mark.timeout(120)
async def test_the_offer_shows_only_where_the_browser_can_have_push(
    dev: str, browser: Browser
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    shipment_id, url = _ship(dev)
    _tap(dev, shipment_id, "out_for_delivery")
    _wait_for_tracking(url)
    context = await _phone(browser, dev)
    page = await context.new_page()
    await page.goto(url)
    button = page.get_by_test_id("push-subscribe")
    await expect(button).to_be_visible()
    await expect(button).to_have_text("Notify me on this device")
    box = await button.bounding_box()
    assert box is not None
    assert box["height"] >= 44  # a target a thumb hits
    await expect(page.get_by_test_id("push-stop")).to_be_hidden()
    await page.screenshot(path=ARTIFACTS / "tracking-page-push-en.png", full_page=True)
    await page.goto(url + "?lang=ru")
    await expect(button).to_have_text("Уведомлять меня на этом устройстве")
    await page.goto(url + "?lang=ro")
    await expect(button).to_have_text("Anunțați-mă pe acest dispozitiv")
    await context.close()

    # A browser without the Push API (an older one, a webview) is offered nothing.
    context = await _phone(browser, dev)
    await context.add_init_script("delete window.PushManager;")
    page = await context.new_page()
    await page.goto(url)
    await expect(page.get_by_test_id("live")).to_be_visible()  # the script ran
    await expect(page.get_by_test_id("push")).to_be_hidden()
    await context.close()


@pytest.mark.timeout(120)
async def test_a_permission_refused_is_said_in_words(dev: str, browser: Browser) -> None:
    _, url = _ship(dev)
    _wait_for_tracking(url)
    context = await _phone(browser, dev)  # headless Chromium answers a request with "denied"
    page = await context.new_page()
    await page.goto(url)
    await page.get_by_test_id("push-subscribe").click()
    note = page.get_by_test_id("push-note")
    await expect(note).to_have_text(
        "Notifications are blocked for this site. Allow them in your browser's settings,"
        " then try again."
    )
    assert await page.evaluate("Notification.permission") == "denied"
    await expect(page.get_by_test_id("push-subscribe")).to_be_enabled()  # may try again
    await context.close()


@pytest.mark.timeout(120)
async def test_a_browser_that_cannot_subscribe_says_so(dev: str, browser: Browser) -> None:
    """Chromium refuses to subscribe in a throwaway profile: the page registers its worker,
    asks, and says that push is not available here."""
    _, url = _ship(dev)
    _wait_for_tracking(url)
    context = await _phone(browser, dev)
    await context.grant_permissions(["notifications"], origin=dev)
    page = await context.new_page()
    await page.goto(url)
    await page.get_by_test_id("push-subscribe").click()
    await expect(page.get_by_test_id("push-note")).to_have_text(
        "Notifications are not available in this browser."
    )
    scope = await page.evaluate(
        "navigator.serviceWorker.getRegistration('/t/').then((r) => r && r.scope)"
    )
    assert scope == f"{dev}/t/"
    await expect(page.get_by_test_id("push-stop")).to_be_hidden()
    await context.close()


# -- the subscription's way to hooks, with a stand-in for the push service's answer


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


P256DH = _b64url(bytes([4]) + bytes(range(64)))
AUTH = _b64url(bytes(range(16)))

# PushManager's two calls that reach a push service, answered as a browser answers them.
STAND_IN = """
(() => {
  // the browser keeps a subscription across reloads: the stand-in keeps it for the tab
  const KEPT = "stand-in subscription";
  window.unsubscribed = 0;
  const made = (endpoint) => ({
    endpoint, expirationTime: null, options: {userVisibleOnly: true, applicationServerKey: null},
    toJSON() {
      return {endpoint, expirationTime: null, keys: {p256dh: "%(p256dh)s", auth: "%(auth)s"}};
    },
    async unsubscribe() { window.unsubscribed += 1; sessionStorage.removeItem(KEPT); return true; },
  });
  PushManager.prototype.subscribe = async function (options) {
    window.subscribedWith = {userVisibleOnly: options.userVisibleOnly,
      key: Array.from(new Uint8Array(options.applicationServerKey))};
    sessionStorage.setItem(KEPT, "%(endpoint)s");
    return made("%(endpoint)s");
  };
  PushManager.prototype.getSubscription = async function () {
    const endpoint = sessionStorage.getItem(KEPT);
    return endpoint ? made(endpoint) : null;
  };
})();
"""


def _stand_in(endpoint: str) -> str:
    return STAND_IN % {"p256dh": P256DH, "auth": AUTH, "endpoint": endpoint}


def _kafka(dev_output: Path) -> str:
    found = re.search(r"Kafka\s+(127\.0\.0\.1:\d+)", dev_output.read_text())
    assert found
    return found[1]


async def _event(kafka: str, shipment_id: str, body: str) -> pb.ShipmentEvent:
    """The shipment's event of that kind on the dev stack's events topic."""
    consumer = AIOKafkaConsumer(
        "shipnotify.shipment-events.v1",
        bootstrap_servers=kafka,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        async with asyncio.timeout(20):
            while True:
                batch = await consumer.getmany(timeout_ms=200)
                for record in (r for records in batch.values() for r in records):
                    event = pb.ShipmentEvent.FromString(record.value)
                    if record.key == shipment_id.encode() and event.WhichOneof("body") == body:
                        return event
    finally:
        await consumer.stop()


@pytest.mark.timeout(180)
async def test_the_subscription_reaches_hooks_and_stop_takes_it_back(
    dev: str, dev_output: Path, browser: Browser
) -> None:
    shipment_id, url = _ship(dev)
    _wait_for_tracking(url)
    endpoint = f"https://push.example.net/send/{uuid.uuid4().hex}"
    context = await _phone(browser, dev)
    await context.grant_permissions(["notifications"], origin=dev)
    await context.add_init_script(_stand_in(endpoint))
    page = await context.new_page()
    await page.goto(url)
    await page.get_by_test_id("push-subscribe").click()
    note = page.get_by_test_id("push-note")
    await expect(note).to_have_text("You will be notified on this device.")
    await expect(page.get_by_test_id("push-stop")).to_be_visible()
    await expect(page.get_by_test_id("push-stop")).to_be_focused()
    await expect(page.get_by_test_id("push-subscribe")).to_be_hidden()
    await page.screenshot(path=ARTIFACTS / "tracking-page-push-on-en.png", full_page=True)
    # the page subscribed as the Push API requires, with the server's key
    asked = await page.evaluate("window.subscribedWith")
    assert asked == {
        "userVisibleOnly": True,
        "key": list(base64.urlsafe_b64decode(VAPID_PUBLIC_KEY + "=")),
    }
    kafka = _kafka(Path(dev_output))
    subscribed = await _event(kafka, shipment_id, "push_subscribed")
    assert subscribed.push_subscribed == pb.PushSubscribed(
        endpoint=endpoint, p256dh=P256DH, auth=AUTH, locale="en", time_zone="Europe/Chisinau"
    )

    # a reload remembers it
    await page.reload()
    await expect(note).to_have_text("You will be notified on this device.")

    await page.get_by_test_id("push-stop").click()
    await expect(note).to_have_text("You will no longer be notified on this device.")
    await expect(page.get_by_test_id("push-subscribe")).to_be_visible()
    unsubscribed = await _event(kafka, shipment_id, "push_unsubscribed")
    assert unsubscribed.push_unsubscribed.endpoint == endpoint
    assert await page.evaluate("window.unsubscribed") == 1
    await context.close()


@pytest.mark.timeout(120)
async def test_a_subscription_the_server_refuses_is_said_in_words(
    dev: str, browser: Browser
) -> None:
    """hooks refuses a push service it would not send to (plain http to a host that is not
    this machine): the page says the server did not accept it."""
    _, url = _ship(dev)
    _wait_for_tracking(url)
    context = await _phone(browser, dev)
    await context.grant_permissions(["notifications"], origin=dev)
    await context.add_init_script(_stand_in("http://push.example.net/send/x"))
    page = await context.new_page()
    replies: list[int] = []
    page.on(
        "response",
        lambda r: replies.append(r.status) if r.url.endswith("/v1/push-subscriptions") else None,
    )
    await page.goto(url)
    await page.get_by_test_id("push-subscribe").click()
    await expect(page.get_by_test_id("push-note")).to_have_text(
        "The server did not accept the request. Please try again later."
    )
    assert replies == [422]
    await expect(page.get_by_test_id("push-subscribe")).to_be_visible()
    await context.close()
