"""The `shipnotify` command: one subcommand per deployable, plus dev and token."""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web
from opentelemetry import trace

from shipnotify import config, logs, loop, tracing
from shipnotify.config import ConfigError, Settings


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        logs.configure(
            args.command,
            level="warning" if args.command == "bench" else settings.log_level,
            fmt="console" if args.command == "dev" else settings.log_format,
        )
        for name in config.unknown():
            logs.get(__name__).warning("unknown setting ignored", variable=name)
        # the process's tracer provider; it sends its last spans at exit
        trace.set_tracer_provider(tracing.provider(args.command, settings))
        result: int = args.run(args, settings)
        return result
    except ConfigError as e:
        print(f"shipnotify {args.command}: configuration error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="shipnotify", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    dev = sub.add_parser(
        "dev", help="run the whole system locally on Apache Kafka and redis-server"
    )
    dev.add_argument("--http-port", type=int, default=8080)
    dev.add_argument("--no-demo", action="store_true", help="do not run the demo courier")
    dev.add_argument(
        "--demo-pace",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="seconds between the demo courier's taps (default 2)",
    )
    dev.set_defaults(run=_dev)

    for name, run, help_ in (
        ("ingest", _ingest, "serve the courier and order-system API"),
        ("tracker", _tracker, "apply shipment events to the tracking state"),
        ("status_api", _status_api, "serve the public tracking page and API (read-only)"),
        ("hooks", _hooks, "serve the SMS provider's webhooks and the operators' notice list"),
        ("console", _console, "serve the operators' and business customers' console"),
        ("notifier", _notifier, "send notices by SMS and email"),
        ("sms_sandbox", _sms_sandbox, "serve a stand-in of the SMS provider (local stacks)"),
    ):
        sub.add_parser(name, help=help_).set_defaults(run=run)

    redrive = sub.add_parser("redrive", help="send the notices that gave up again")
    redrive.add_argument("--limit", type=int, default=None, help="at most this many")
    redrive.set_defaults(run=_redrive)

    rebuild = sub.add_parser(
        "rebuild", help="restore the tracking state from Kafka after Redis lost it"
    )
    rebuild.set_defaults(run=_rebuild)

    bench = sub.add_parser(
        "bench", help="measure throughput and latency beside the raw limits, in one run"
    )
    for flag, kind, help_ in (
        ("--events", int, "events for the throughput figures (default 30000)"),
        ("--shipments", int, "the shipments those events are of (default 5000)"),
        ("--rate", float, "taps a second the saturation search starts at (default 500)"),
        ("--seconds", float, "length of each fixed-rate measurement (default 20)"),
        ("--saturation-seconds", float, "time for the saturation search (default 60)"),
        ("--webhooks", int, "messages for the webhooks figure (default 5000)"),
        ("--surveys", int, "survey SMS sent and answered for the survey figures (default 2000)"),
        ("--console-shipments", int, "a year of them for the console's figures (default 1e6)"),
        ("--kafka", str, "a broker to use instead of starting one"),
        ("--redis", str, "a Redis URL to use instead of a local redis-server"),
        ("--json", Path, "where the figures go as JSON (default shipnotify-bench.json)"),
    ):
        bench.add_argument(flag, type=kind, help=help_)
    bench.add_argument("--smoke", action="store_true", help="a short run that checks it completes")
    bench.set_defaults(run=_bench)

    token = sub.add_parser("token", help="print a token for local use")
    kinds = token.add_subparsers(dest="kind", required=True, metavar="KIND")
    courier = kinds.add_parser("courier", help="a courier token for the driver app")
    courier.add_argument("courier_id")
    courier.add_argument("--ttl-hours", type=float, default=None)
    courier.add_argument(
        "--link",
        action="store_true",
        help="print the app's sign-in link, and a QR code of it for the phone's camera",
    )
    courier.set_defaults(run=_token_courier)
    vapid = kinds.add_parser("vapid", help="a new VAPID key pair for push notices")
    vapid.set_defaults(run=_token_vapid)
    return p


def _local_extra(command: str) -> None:
    """The local stack's own packages are an extra, not in the production image."""
    missing = [name for name in ("aiosmtpd", "rich") if importlib.util.find_spec(name) is None]
    if missing:
        raise ConfigError(
            f"`shipnotify {command}` needs the local extra ({', '.join(missing)} missing): "
            "pip install 'shipnotify[local]', or run `make dev` from a checkout"
        )


def _dev(args: argparse.Namespace, settings: Settings) -> int:
    _local_extra("dev")
    from shipnotify.devstack import stack

    try:
        loop.run(
            stack.run(
                settings,
                http_port=args.http_port,
                demo_pace_s=None if args.no_demo else args.demo_pace,
            )
        )
    except stack.PortInUse as e:
        print(f"shipnotify dev: {e}", file=sys.stderr)
        return 1
    return 0


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    from shipnotify.ingest.app import init_app

    return _serve(init_app(settings), settings)


def _status_api(args: argparse.Namespace, settings: Settings) -> int:
    from shipnotify.status_api.app import init_app

    return _serve(init_app(settings), settings)


def _hooks(args: argparse.Namespace, settings: Settings) -> int:
    from shipnotify.hooks.app import init_app

    return _serve(init_app(settings), settings)


def _console(args: argparse.Namespace, settings: Settings) -> int:
    from shipnotify.console.app import init_app

    return _serve(init_app(settings), settings)


def _serve(app: web.Application, settings: Settings) -> int:
    """Serves an HTTP service until SIGTERM or SIGINT; then stops gracefully, running the
    app's cleanup contexts."""
    from shipnotify.web.serving import CannotListen, serve

    async def run(stop: asyncio.Event) -> None:
        try:
            async with serve(app, settings.http_host, settings.http_port):
                await stop.wait()
        except CannotListen as e:
            raise ConfigError(f"{e}; set SHIPNOTIFY_HTTP_PORT to a free port") from None

    return _until_signal(settings, run, ops=False)


def _tracker(args: argparse.Namespace, settings: Settings) -> int:
    from shipnotify.tracker import service

    service.check(settings)  # before anything listens
    return _until_signal(settings, lambda stop: service.serve(settings, stop))


def _until_signal(
    settings: Settings, serve: Callable[[asyncio.Event], Awaitable[None]], *, ops: bool = True
) -> int:
    """Runs a consumer service, with its health and metrics on HTTP (unless not `ops`), until
    SIGTERM or SIGINT asks it to finish and leave."""
    from shipnotify.consumer import probes as ops_http

    async def served(stop: asyncio.Event) -> None:
        if not ops:
            await serve(stop)
            return
        async with ops_http.serving(settings):
            await serve(stop)

    async def run() -> bool:
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        if await loop.until_stopped(served(stop), stop):
            return True
        logs.get(__name__).error(
            "did not stop in time; exiting: its uncommitted work goes to the next owner",
            limit_s=loop.STOP_LIMIT_S,
            waiting_in=loop.waiting_in(),
        )
        return False

    if loop.run(run()):
        return 0
    os._exit(1)  # as a kill would: the task that hangs would hang the loop's own shutdown too


def _notifier(args: argparse.Namespace, settings: Settings) -> int:
    from shipnotify.notifier import service

    service.check(settings)  # before anything listens
    return _until_signal(settings, lambda stop: service.serve(settings, stop))


def _sms_sandbox(args: argparse.Namespace, settings: Settings) -> int:
    """The SMS provider's stand-in, for a compose stack: the notifier's SMS go to it and its
    /_sandbox/messages.json shows them."""
    from shipnotify.devstack.sms_sandbox import SmsSandbox

    settings.require("twilio_account_sid", "twilio_auth_token")
    sandbox = SmsSandbox(settings.twilio_account_sid, settings.twilio_auth_token)

    async def serve(stop: asyncio.Event) -> None:
        async with sandbox.running(settings.http_port, host=settings.http_host):
            await stop.wait()

    return _until_signal(settings, serve, ops=False)


def _redrive(args: argparse.Namespace, settings: Settings) -> int:
    from shipnotify.notifier.redrive import redrive

    done = loop.run(redrive(settings, limit=args.limit))
    print(
        f"redriven: {done.jobs} notices; cancelled, their contacts erased: {done.cancelled};"
        f" unreadable records left: {done.unreadable}"
    )
    return 0


def _rebuild(args: argparse.Namespace, settings: Settings) -> int:
    from shipnotify.tracker.rebuild import rebuild

    done = loop.run(rebuild(settings))
    print(
        f"rebuilt: {done.shipments} shipments from {done.events} events,"
        f" surveys and cases from {done.feedback} feedback events"
        f" (unreadable, in the dead-letter topics: {done.unreadable})"
    )
    return 0


def _bench(args: argparse.Namespace, settings: Settings) -> int:
    _local_extra("bench")
    from rich.console import Console

    from shipnotify.bench.run import Options, run

    given = {
        k: v
        for k in (
            "events",
            "shipments",
            "rate",
            "seconds",
            "saturation_seconds",
            "webhooks",
            "surveys",
            "console_shipments",
            "kafka",
            "redis",
        )
        if (v := getattr(args, k)) is not None
    }
    if args.json is not None:
        given["out"] = args.json
    options = Options.smoke(**given) if args.smoke else Options(**given)
    console = Console()
    if not console.is_terminal:  # a log or a pipe: the table whole, not folded to 80 columns
        console = Console(width=160)
    report = loop.run(run(options, settings))
    report.print(console)
    report.write(options.out)
    console.print(f"written: {options.out}")
    return 0


def _token_vapid(args: argparse.Namespace, settings: Settings) -> int:
    from shipnotify.devstack.stack import new_vapid_pair

    private, public = new_vapid_pair()
    print(f"SHIPNOTIFY_VAPID_PRIVATE_KEY={private}\nSHIPNOTIFY_VAPID_PUBLIC_KEY={public}")
    return 0


def _token_courier(args: argparse.Namespace, settings: Settings) -> int:
    import qrcode

    from shipnotify.devstack.stack import DEV_COURIER_TOKEN_SECRET
    from shipnotify.model.ids import sign_in_url
    from shipnotify.web.auth import issue_courier_token

    secret = settings.courier_token_secret
    if not secret:
        print(
            "SHIPNOTIFY_COURIER_TOKEN_SECRET is not set: signing with the dev secret, "
            "valid only against `shipnotify dev`",
            file=sys.stderr,
        )
        secret = DEV_COURIER_TOKEN_SECRET
    ttl = int(args.ttl_hours * 3600) if args.ttl_hours else settings.courier_token_ttl_s
    token = issue_courier_token(secret, args.courier_id, ttl)
    if not args.link:
        print(token)
        return 0
    link = sign_in_url(settings.ingest_url or settings.public_url, token)
    print(link)
    qr = qrcode.QRCode(border=2)
    qr.add_data(link)
    qr.print_ascii(out=sys.stdout, invert=True)  # light modules on a dark terminal
    return 0
