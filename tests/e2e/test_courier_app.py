"""The courier app in a phone-sized headless Chromium against ingest, status_api and the
tracker on loopback, with Apache Kafka and redis-server: a whole run worked offline and
uploaded exactly once after a restart of the browser; a refused tap shown with its reason;
an expired sign-in that keeps the taps until the next link; the shell opening with no
network; the manifest and icons an installable app needs; a new version replacing the old;
a shipment opened by number or scan; the worker uploading with the app closed. Screenshots
go to tests/e2e/artifacts/ (the README's are copies)."""

from __future__ import annotations

import asyncio
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any, TypeVar

import pytest
from babel.dates import format_date, format_time
from playwright.async_api import Locator, Page, async_playwright, expect

from shipnotify import web as sweb
from shipnotify.config import Settings
from shipnotify.devstack.processes import free_port
from shipnotify.i18n.labels import STATUS_LABELS
from shipnotify.ingest import courier_app, courier_files
from shipnotify.model.status import AttemptFailure, Status
from shipnotify.web.serving import serve

from .courier import (
    FAKE_CAMERA,
    Stack,
    app_taps,
    check_readable_and_reachable,
    controlled,
    first_page,
    phone,
    png_size,
    running_stack,
    shoot,
)
from .test_browser import RECORD_VIOLATIONS, Watch

pytestmark = pytest.mark.timeout(240)
T = TypeVar("T")
Progress = dict[str, list[str]]
STATIC = Path(str(files("shipnotify.ingest").joinpath("static")))


def a_courier() -> str:
    """A courier of the test's own: Redis keeps each courier's run by id, across tests."""
    return f"courier-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def stack(settings: Settings) -> AsyncIterator[Stack]:
    async with running_stack(settings) as running:
        yield running


async def until(check: Callable[[], Awaitable[T | None]], timeout_s: float = 30.0) -> T:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        found = await check()
        if found:
            return found
        assert asyncio.get_running_loop().time() < deadline, f"never: last {found!r}"
        await asyncio.sleep(0.1)


def stop_of(page: Page, tracking_id: str) -> Locator:
    return page.locator(f'[data-testid=stop][data-tracking="{tracking_id}"]')


async def tap(page: Page, tracking_id: str, status: str) -> None:
    """Taps a stop's status button; the stop then shows the status, as the app computed."""
    await stop_of(page, tracking_id).get_by_test_id(f"tap-{status}").click()


async def expect_stop(page: Page, tracking_id: str, status: str, progress: Progress) -> None:
    """The stop shows `status` and, as buttons, the statuses that may follow it."""
    stop = stop_of(page, tracking_id)
    label = STATUS_LABELS["en"][Status(status)]
    await expect(stop.get_by_test_id("stop-status")).to_have_text(f"Now: {label}")
    buttons = stop.locator(".actions button")
    await expect(buttons).to_have_count(len(progress[status]))
    assert [await b.get_attribute("data-status") for b in await buttons.all()] == progress[status]


async def states(page: Page) -> list[str]:
    return [t["state"] for t in await app_taps(page)]


async def listed(stack: Stack, token: str, shipment_ids: set[str]) -> dict[str, Any] | None:
    """The courier's run once it lists these shipments (the tracker has applied them)."""
    run = await stack.run_of(token)
    return run if shipment_ids <= {s["shipment_id"] for s in run["shipments"]} else None


async def all_sent(page: Page) -> list[str] | None:
    found = await states(page)
    return found if found and set(found) == {"sent"} else None


def tapped_at(tap: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(tap["occurred_at"])


async def test_a_whole_run_worked_offline_arrives_once_in_order_after_a_restart(
    stack: Stack, tmp_path: Path
) -> None:
    me = a_courier()
    token = stack.token(me)
    ana = await stack.register(me, "Ana Popescu", "+40721234567", "Str. Lipscani 12, București")
    ion = await stack.register(me, "Ion Rusu", "+37369123456", "bd. Ștefan cel Mare 1, Chișinău")
    eva = await stack.register(me, "Eva Lungu", None, None)
    mine = {ana[0], ion[0], eva[0]}
    progress: Progress = (await until(lambda: listed(stack, token, mine)))["progress"]
    profile = tmp_path / "profile"

    async with async_playwright() as pw:
        context = await phone(pw, profile)
        page = await first_page(context)
        await page.add_init_script(RECORD_VIOLATIONS)
        watch = Watch(page)
        await page.goto(stack.link(token))
        await expect(page.get_by_test_id("stop")).to_have_count(3)
        assert "#token" not in page.url  # the token left the address once kept
        await controlled(page)
        first = stop_of(page, ana[1])
        await expect(first.get_by_test_id("call")).to_have_attribute("href", "tel:+40721234567")
        await expect(first).to_contain_text("Str. Lipscani 12, București")
        await expect(stop_of(page, eva[1])).to_contain_text("No phone number")
        await expect(page.get_by_test_id("scan")).to_be_hidden()  # no BarcodeDetector here

        # the network goes, for the whole run; the app opens again from its worker alone
        await context.set_offline(True)
        await page.close()
        page = await context.new_page()
        await page.add_init_script(RECORD_VIOLATIONS)
        watch = Watch(page)
        shell = await page.goto(f"{stack.base}/courier/")
        assert shell is not None
        assert shell.from_service_worker
        await expect(page.get_by_test_id("offline")).to_be_visible()
        await expect(page.get_by_test_id("stop")).to_have_count(3)  # the run kept offline
        await expect_stop(page, ana[1], "registered", progress)
        measured = await check_readable_and_reachable(page)
        assert measured > 20
        await shoot(page, "courier-run.png")

        await tap(page, ana[1], "picked_up")
        await expect_stop(page, ana[1], "picked_up", progress)
        await tap(page, ana[1], "out_for_delivery")
        await tap(page, ana[1], "delivery_attempted")
        dialog = page.get_by_test_id("failure-dialog")
        await expect(dialog).to_be_visible()
        await dialog.get_by_test_id("confirm").click()  # no reason chosen: it asks again
        await expect(dialog.locator(".sheet-error")).to_be_visible()
        await dialog.get_by_test_id("failure-no_access").check()
        await check_readable_and_reachable(page)
        await shoot(page, "courier-reason.png")
        await dialog.get_by_test_id("confirm").click()
        await expect(dialog).to_be_hidden()
        await expect_stop(page, ana[1], "delivery_attempted", progress)
        await tap(page, ana[1], "out_for_delivery")
        await tap(page, ana[1], "delivered")
        received = page.get_by_test_id("received-dialog")
        await received.get_by_test_id("confirm").click()  # a name is required
        await expect(received.locator(".sheet-error")).to_be_visible()
        await received.get_by_test_id("received-by").fill("Ana Popescu")
        await received.get_by_test_id("confirm").click()
        await expect_stop(page, ana[1], "delivered", progress)

        await tap(page, ion[1], "picked_up")
        await tap(page, ion[1], "out_for_delivery")
        await tap(page, ion[1], "delivered")
        await received.get_by_test_id("received-by").fill("Vecina Maria")
        await received.get_by_test_id("confirm").click()
        await tap(page, eva[1], "picked_up")
        await expect_stop(page, eva[1], "picked_up", progress)

        made = await app_taps(page)
        assert [t["state"] for t in made] == ["queued"] * 9
        await expect(page.get_by_test_id("waiting")).to_have_text("Waiting to be sent: 9")
        await expect(page.get_by_test_id("tap-state").first).to_have_text("queued")
        assert await stack.taps_on_topic(mine) == []  # nothing left the phone
        assert await page.evaluate("window.violations") == []
        await context.close()  # the browser quits; IndexedDB and the worker stay on disk
        offline_errors = [e for e in watch.errors if "ERR_INTERNET_DISCONNECTED" not in e]
        assert offline_errors == []

        # back online, a new start of the browser: the app sends what it kept, once
        context = await phone(pw, profile)
        page = await first_page(context)
        watch = Watch(page)
        await page.goto(f"{stack.base}/courier/")
        await until(lambda: all_sent(page))
        await expect(page.get_by_test_id("waiting")).to_have_text("Waiting to be sent: 0")
        await expect(page.get_by_test_id("tap-state").first).to_have_text("sent")
        await shoot(page, "courier-sent.png")
        await context.close()
        assert watch.errors == []

    on_topic = await stack.taps_on_topic(mine)  # all there: ingest answered after the acks
    assert [e.event_id for e in on_topic if e.shipment_id == ana[0]] == [
        t["event_id"] for t in made if t["shipment_id"] == ana[0]
    ]  # in order, each once
    assert sorted(e.event_id for e in on_topic) == sorted(t["event_id"] for t in made)
    by_id = {e.event_id: e for e in on_topic}
    for t in made:
        event = by_id[t["event_id"]]
        assert event.occurred_at.ToDatetime(UTC) == tapped_at(t)  # the tap's own time
        assert event.status_changed.courier_id == me
    attempt = next(by_id[t["event_id"]] for t in made if t["status"] == "delivery_attempted")
    assert attempt.status_changed.failure == AttemptFailure.NO_ACCESS.proto
    names = [
        by_id[t["event_id"]].status_changed.received_by for t in made if t["status"] == "delivered"
    ]
    assert names == ["Ana Popescu", "Vecina Maria"]
    assert sum(len(b) for b in stack.uploads) == 9  # none sent twice

    async def final() -> list[str] | None:
        found = [(await stack.tracking(tid))["status"] for _, tid in (ana, ion, eva)]
        return found if found == ["delivered", "delivered", "picked_up"] else None

    await until(final)
    # the notices follow: the shop hears of each delivery, to whom and when it was handed
    # (its time zone is UTC), and the recipient of each status it hears about
    assert stack.mail is not None
    mail = stack.mail

    async def handed() -> list[str] | None:
        found = [
            m.text or ""
            for m in mail.messages
            if m.rcpt_tos == ("shop@example.com",) and "delivered" in m.subject
        ]
        return found if len(found) == 2 else None

    letters = await until(handed)
    for t in made:
        if t["status"] == "delivered":
            at = tapped_at(t)
            when = (
                f"{format_date(at, 'long', locale='en')} at {format_time(at, 'short', locale='en')}"
            )
            name = by_id[t["event_id"]].status_changed.received_by
            assert sum(f"Handed over to {name} on {when}." in text for text in letters) == 1
    recipient = [m.subject for m in mail.messages if m.rcpt_tos == ("recipient@example.com",)]
    assert recipient.count("Your parcel has been delivered") == 2
    timeline = (await stack.tracking(ana[1]))["timeline"]
    assert [i["status"] for i in timeline][-5:] == [
        "picked_up",
        "out_for_delivery",
        "delivery_attempted",
        "out_for_delivery",
        "delivered",
    ]


async def test_a_refused_tap_shows_why_and_is_never_sent_again(
    stack: Stack, tmp_path: Path
) -> None:
    me = a_courier()
    other = a_courier()
    token = stack.token(me)
    late = await stack.register(me, "Dan Ursu", "+40721234568", "Calea Victoriei 1")
    moved = await stack.register(me, "Rita Munteanu", "+40721234569", "Str. Mihai Eminescu 7")
    mine = {late[0], moved[0]}
    progress = (await until(lambda: listed(stack, token, mine)))["progress"]
    async with async_playwright() as pw:
        context = await phone(pw, tmp_path / "profile")
        page = await first_page(context)
        await page.goto(stack.link(token))
        await expect_stop(page, late[1], "registered", progress)

        # the phone's clock is 40 days behind: its tap is older than ingest takes one
        await page.clock.set_system_time(datetime.now(UTC) - timedelta(days=40))
        await tap(page, late[1], "picked_up")
        await until(lambda: _states_are(page, ["refused"]))
        await expect(page.get_by_test_id("tap-reason")).to_have_text(
            "The server refused it: occurred_at: Value error, is more than 30 days old"
        )
        await expect(page.get_by_test_id("tap-state")).to_have_text("refused")
        await expect_stop(page, late[1], "registered", progress)  # what the server has
        await expect(stop_of(page, late[1]).get_by_test_id("stop-tap")).to_contain_text(
            "is more than 30 days old"
        )
        await page.clock.set_system_time(datetime.now(UTC))

        # offline, a tap on a shipment the dispatcher gives to another courier meanwhile
        await context.set_offline(True)
        await tap(page, moved[1], "picked_up")
        await stack.assign(moved[0], other)
        await until(lambda: listed(stack, stack.token(other), {moved[0]}))
        await tap(page, late[1], "picked_up")  # and the late one's status again, in time
        assert await states(page) == ["refused", "queued", "queued"]
        await context.set_offline(False)  # the network returns: the app sends at once
        await until(lambda: _states_are(page, ["refused", "refused", "sent"]))
        shown = page.locator(f'[data-event="{(await app_taps(page))[1]["event_id"]}"]')
        await expect(shown.get_by_test_id("tap-state")).to_have_text("refused")
        await expect(shown.get_by_test_id("tap-reason")).to_have_text(
            "The server refused it: shipment_id: assigned to another courier"
        )
        await expect(stop_of(page, moved[1])).to_have_count(0)  # no longer on the run
        await expect_stop(page, late[1], "picked_up", progress)

        # one more tap with no network: the list shows each state
        await context.set_offline(True)
        await tap(page, late[1], progress["picked_up"][0])
        assert await states(page) == ["refused", "refused", "sent", "queued"]
        await page.get_by_test_id("taps").scroll_into_view_if_needed()
        await check_readable_and_reachable(page)
        await shoot(page, "courier-queue.png")
        taps = await app_taps(page)
        await context.close()
    carried = [i for upload in stack.uploads for i in upload]
    assert sorted(carried) == sorted(t["event_id"] for t in taps[:3])  # each once; the
    # refused never again, the last still queued on the phone
    on_topic = await stack.taps_on_topic(mine)
    assert [e.event_id for e in on_topic] == [taps[2]["event_id"]]


async def _states_are(page: Page, wanted: list[str]) -> bool:
    return await states(page) == wanted


async def test_an_expired_sign_in_keeps_the_taps_until_the_next_link(
    stack: Stack, tmp_path: Path
) -> None:
    me = a_courier()
    shipment_id, tid = await stack.register(me, "Olga Ceban", "+37369123457", "str. Florilor 3")
    progress = (await until(lambda: listed(stack, stack.token(me), {shipment_id})))["progress"]
    async with async_playwright() as pw:
        context = await phone(pw, tmp_path / "profile")
        page = await first_page(context)
        ttl_s, issued = 6, time.monotonic()
        await page.goto(stack.link(stack.token(me, ttl_s=ttl_s)))
        await expect_stop(page, tid, "registered", progress)
        await expect(page.get_by_test_id("sign-in-again")).to_be_hidden()
        await asyncio.sleep(issued + ttl_s + 1.5 - time.monotonic())  # the token expires

        await tap(page, tid, "picked_up")
        await expect(page.get_by_test_id("sign-in-again")).to_be_visible()
        await tap(page, tid, progress["picked_up"][0])  # signed out: kept all the same
        await expect(page.get_by_test_id("waiting")).to_have_text("Waiting to be sent: 2")
        assert await states(page) == ["queued", "queued"]
        await expect_stop(page, tid, progress["picked_up"][0], progress)
        await check_readable_and_reachable(page)
        await shoot(page, "courier-sign-in-again.png")
        assert len(stack.uploads) == 1  # the one refused with 401; none while signed out

        await page.goto(stack.link(stack.token(me)))  # the dispatcher's new link
        await until(lambda: _states_are(page, ["sent", "sent"]))
        await expect(page.get_by_test_id("sign-in-again")).to_be_hidden()
        await context.close()

    async def moved() -> bool:
        return bool((await stack.tracking(tid))["status"] == progress["picked_up"][0])

    await until(moved)
    assert [len(u) for u in stack.uploads] == [1, 2]  # the first try again, with the second


async def test_the_app_opens_with_no_network_after_the_first_visit(
    stack: Stack, tmp_path: Path
) -> None:
    profile = tmp_path / "profile"
    async with async_playwright() as pw:
        context = await phone(pw, profile)
        page = await first_page(context)
        await page.goto(f"{stack.base}/courier/")
        await expect(page.get_by_test_id("sign-in")).to_be_visible()  # no link yet
        await controlled(page)
        await page.get_by_test_id("lang-ro").click()  # the language chosen is the one kept
        await expect(page.locator("html")).to_have_attribute("lang", "ro")
        await context.close()

        context = await phone(pw, profile, offline=True)  # the phone starts with no network
        page = await first_page(context)
        answers: list[tuple[str, bool]] = []
        page.on("response", lambda r: answers.append((r.url, r.from_service_worker)))
        await page.add_init_script(RECORD_VIOLATIONS)
        watch = Watch(page)
        await page.goto(f"{stack.base}/courier/")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Traseul de azi")
        await expect(page.get_by_test_id("sign-in")).to_be_visible()  # its script ran
        await expect(page.get_by_test_id("offline")).to_be_visible()
        await expect(page.get_by_test_id("lang-ro")).to_have_css(
            "background-color", "rgb(10, 88, 168)"
        )  # its stylesheet applies
        assert await page.evaluate("window.violations") == []
        await context.close()
    assert answers
    assert [url for url, by_worker in answers if not by_worker] == []
    assert [e for e in watch.errors if "ERR_INTERNET_DISCONNECTED" not in e] == []


async def test_the_manifest_and_icons_make_the_app_installable(
    stack: Stack, tmp_path: Path
) -> None:
    async with async_playwright() as pw:
        context = await phone(pw, tmp_path / "profile")
        page = await first_page(context)
        await page.goto(f"{stack.base}/courier/")
        await controlled(page)
        href = await page.locator("link[rel=manifest]").get_attribute("href")
        assert href is not None
        answer = await context.request.get(f"{stack.base}{href}")
        assert answer.headers["content-type"] == "application/manifest+json; charset=utf-8"
        manifest = await answer.json()
        for field, value in {
            "start_url": "/courier/",
            "scope": "/courier/",
            "display": "standalone",
            "name": "shipnotify courier",
            "short_name": "Courier",
            "theme_color": "#0a58a8",
        }.items():
            assert manifest[field] == value, field
        purposes = []
        for icon in manifest["icons"]:
            got = await context.request.get(f"{stack.base}{icon['src']}")
            assert got.headers["content-type"] == "image/png"
            width, height = png_size(await got.body())
            assert f"{width}x{height}" == icon["sizes"]
            purposes.append((icon["sizes"], icon.get("purpose", "any")))
        assert sorted(purposes) == [("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")]

        # as the browser reads them: no error in the manifest, nothing against installing
        cdp = await context.new_cdp_session(page)
        read = await cdp.send("Page.getAppManifest")
        assert read["url"] == f"{stack.base}{href}"
        assert read["errors"] == []
        assert (await cdp.send("Page.getInstallabilityErrors"))["installabilityErrors"] == []
        await context.close()


@asynccontextmanager
async def serving_app_files(files: courier_files.Shell, port: int) -> AsyncIterator[str]:
    """ingest's courier app alone (its routes, these files) on `port`: one deploy of it."""
    app = sweb.new_app(1024)
    courier_app.install(app, files)
    async with serve(app, "127.0.0.1", port, shutdown_timeout_s=1):
        yield f"http://127.0.0.1:{port}"


async def test_a_new_version_takes_over_and_its_files_replace_the_old(tmp_path: Path) -> None:
    """A deploy with a changed file: the next start online installs the new worker, whose
    cache replaces the old one; the start after that, offline, shows the new version."""
    first, second = tmp_path / "v1", tmp_path / "v2"
    shutil.copytree(STATIC, first)
    shutil.copytree(STATIC, second)
    with (second / "app.css").open("a") as css:
        css.write(".brand{text-transform:uppercase}\n")
    old, new = courier_files.load(first), courier_files.load(second)
    assert old.version != new.version
    port = free_port()
    async with async_playwright() as pw:
        context = await phone(pw, tmp_path / "profile")
        page = await first_page(context)
        async with serving_app_files(old, port) as base:
            await page.goto(f"{base}/courier/")
            await controlled(page)
            assert await page.evaluate("caches.keys()") == [f"courier-{old.version}"]
            await expect(page.locator(".brand")).to_have_css("text-transform", "none")

        async with serving_app_files(new, port) as base:  # the deploy
            await page.reload()
            await page.wait_for_function(
                f"() => navigator.serviceWorker.controller?.scriptURL.includes('{new.version}')"
            )
            await until(lambda: _caches_are(page, [f"courier-{new.version}"]))

        await context.set_offline(True)
        await page.reload()
        await expect(page.locator(".brand")).to_have_css("text-transform", "uppercase")
        await context.close()


async def _caches_are(page: Page, names: list[str]) -> bool:
    return bool(await page.evaluate("caches.keys()") == names)


# The BarcodeDetector API where the platform has none (Linux): it reads what the test puts
# in `window.scanned` from any frame of the (fake) camera.
FAKE_BARCODE_DETECTOR = """
window.BarcodeDetector = class {
  async detect(source) {
    if (!(source instanceof HTMLVideoElement) || source.readyState < 2) return [];
    return window.scanned ? [{ rawValue: window.scanned, format: "qr_code" }] : [];
  }
};
"""


async def test_a_shipment_is_opened_by_its_number_or_a_scan_unless_another_courier_has_it(
    stack: Stack, tmp_path: Path
) -> None:
    me = a_courier()
    other = a_courier()
    token = stack.token(me)
    mine = await stack.register(me, "Ana Popescu", "+40721234567", "Str. Lipscani 12")
    free = await stack.register(None, "Ion Rusu", "+37369123456", "bd. Dacia 20")
    theirs = await stack.register(other, "Eva Lungu", None, None)
    await until(lambda: listed(stack, token, {mine[0]}))
    await until(lambda: listed(stack, stack.token(other), {theirs[0]}))
    async with async_playwright() as pw:
        context = await phone(pw, tmp_path / "profile", args=FAKE_CAMERA)
        page = await first_page(context)
        await page.add_init_script(FAKE_BARCODE_DETECTOR)
        await page.goto(stack.link(token))
        await expect(page.get_by_test_id("stop")).to_have_count(1)
        message = page.get_by_test_id("open-message")

        async def typed(number: str) -> None:
            await page.get_by_test_id("tracking-number").fill(number)
            await page.get_by_test_id("open").click()

        await typed("nosuchnumber00000000")
        await expect(message).to_have_text("No shipment has this tracking number.")
        await typed(theirs[1].upper())
        await expect(message).to_have_text("This shipment is assigned to another courier.")
        await expect(page.get_by_test_id("stop")).to_have_count(1)

        await page.get_by_test_id("scan").click()  # shown: this browser has the API
        await expect(page.get_by_test_id("scan-dialog")).to_be_visible()
        await page.wait_for_function("() => document.getElementById('scan-video').readyState >= 2")
        await page.evaluate(f"window.scanned = '{stack.base}/t/{free[1]}'")  # a label's QR
        await expect(page.get_by_test_id("scan-dialog")).to_be_hidden()
        await expect(message).to_have_text(f"Shipment {free[1]} added to your run.")
        await expect(page.get_by_test_id("stop")).to_have_count(2)
        await tap(page, free[1], "picked_up")
        await until(lambda: _states_are(page, ["sent"]))

        await page.reload()  # kept: an opened shipment stays on the run
        await expect(stop_of(page, free[1])).to_be_visible()
        await context.close()

    async def picked_up() -> bool:
        return bool((await stack.tracking(free[1]))["status"] == "picked_up")

    await until(picked_up)


async def test_the_worker_uploads_with_the_app_closed_when_background_sync_fires(
    stack: Stack, tmp_path: Path
) -> None:
    me = a_courier()
    shipment_id, tid = await stack.register(me, "Ana Popescu", "+40721234567", "Str. Lipscani 12")
    token = stack.token(me)
    await until(lambda: listed(stack, token, {shipment_id}))
    async with async_playwright() as pw:
        context = await phone(pw, tmp_path / "profile")
        page = await first_page(context)
        await page.goto(stack.link(token))
        await controlled(page)
        await context.set_offline(True)
        await tap(page, tid, "picked_up")
        await tap(page, tid, "out_for_delivery")
        assert await states(page) == ["queued", "queued"]
        await page.close()  # the app is closed; only its worker may run now

        # the network returns and the browser fires the sync the app registered (the
        # DevTools protocol fires it, as the browser's own schedule may be minutes away)
        await context.set_offline(False)
        blank = await context.new_page()  # about:blank, no page of the app
        cdp = await context.new_cdp_session(blank)
        found: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

        def registrations(event: dict[str, Any]) -> None:
            for r in event["registrations"]:
                if r["scopeURL"] == f"{stack.base}/courier/" and not found.done():
                    found.set_result(r)

        cdp.on("ServiceWorker.workerRegistrationUpdated", registrations)
        await cdp.send("ServiceWorker.enable")
        registration = await asyncio.wait_for(found, 10)
        await cdp.send(
            "ServiceWorker.dispatchSyncEvent",
            {
                "origin": stack.base,
                "registrationId": registration["registrationId"],
                "tag": "upload-taps",
                "lastChance": False,
            },
        )

        async def arrived() -> list[Any] | None:
            events = await stack.taps_on_topic({shipment_id})
            return events if len(events) == 2 else None

        events = await until(arrived)
        assert [e.status_changed.status for e in events] == [
            Status.PICKED_UP.proto,
            Status.OUT_FOR_DELIVERY.proto,
        ]
        assert [p.url for p in context.pages] == ["about:blank"]  # no page of the app ran
        await context.close()
