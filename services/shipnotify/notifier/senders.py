"""The channels' providers: Twilio for SMS (through the twilio library's async client), an
SMTP relay for email (aiosmtplib), and the subscribers' push services for Web Push
(pywebpush, over aiohttp)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import unicodedata
import uuid
from datetime import UTC, datetime
from email import policy
from email.header import Header
from email.headerregistry import Address
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate, parseaddr, parsedate_to_datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import aiosmtplib
import orjson
from py_vapid import Vapid, VapidException
from pywebpush import WebPushException, webpush_async
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from shipnotify.config import ConfigError, Settings, env_name
from shipnotify.i18n import language_for
from shipnotify.model.ids import tracking_url
from shipnotify.model.quiet import zone_of
from shipnotify.model.status import AttemptFailure, Status
from shipnotify.notifier import loop_notices, texts
from shipnotify.notifier.outcomes import Failed, Outcome, Sent, built
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import shipment_events_pb2 as pb

OPTED_OUT = 21610  # Twilio: the number replied STOP
# Twilio answers these when a retry may succeed; every other 4xx is final.
_TRANSIENT_HTTP = {408, 409, 429}
_LOOKUP_LIMIT = 20  # a number gets few messages from us; the one we look for is recent
_CLOCK_SKEW_S = 5.0


def _party(job: npb.NotificationJob) -> texts.Party:
    return "sender" if job.party == npb.PARTY_ROLE_SENDER else "recipient"


def _texts(job: npb.NotificationJob) -> tuple[str, Status, AttemptFailure | None]:
    return (
        language_for(job.locale),
        Status.from_proto(job.status),
        AttemptFailure.from_proto(job.failure),
    )


def _handed_over(job: npb.NotificationJob) -> tuple[str, datetime] | None:
    """To whom and when a delivered parcel was handed, in the reader's time zone."""
    if not job.received_by:
        return None
    return job.received_by, job.occurred_at.ToDatetime(UTC).astimezone(zone_of(job.time_zone))


class TwilioSms:
    channel = pb.CHANNEL_SMS

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        # No max_retries: the library must never repeat a POST (message creation is not
        # idempotent); our retries are ours, after recording the outcome.
        self._http = AsyncTwilioHttpClient(timeout=settings.send_timeout_s)
        self._client = Client(
            settings.twilio_account_sid, settings.twilio_auth_token, http_client=self._http
        )
        if settings.twilio_api_url:
            self._client.api.base_url = settings.twilio_api_url

    def body(self, job: npb.NotificationJob) -> str:
        if job.kind != npb.NOTICE_KIND_UNSPECIFIED:  # the survey loop's
            return loop_notices.sms_text(job)
        lang, status, failure = _texts(job)
        return texts.sms_text(
            lang,
            _party(job),
            status,
            failure=failure,
            tracking_url=tracking_url(self._settings.public_url, job.tracking_id),
        )

    async def send(self, job: npb.NotificationJob) -> Outcome:
        body = built(self.body, job)
        sender = self._settings.twilio_from
        origin = {"messaging_service_sid": sender} if sender.startswith("MG") else {"from_": sender}
        try:
            # the library's own timeout does not reach its requests: bound the call here
            async with asyncio.timeout(self._settings.send_timeout_s):
                message = await self._client.messages.create_async(
                    to=job.address,
                    body=body,
                    status_callback=self._callback(job),
                    **origin,
                )
        except TwilioRestException as e:
            transient = e.status >= 500 or e.status in _TRANSIENT_HTTP
            return Failed(
                f"twilio {e.status} {e.code}: {e.msg}",
                permanent=not transient,
                code=str(e.code or e.status),
                opted_out=e.code == OPTED_OUT,
            )
        except aiohttp.ClientConnectorError as e:
            return Failed(f"twilio unreachable: {e!r}", permanent=False, code="network")
        except (aiohttp.ClientError, TimeoutError, OSError) as e:
            reason = f"twilio no answer: {e!r}"
            return Failed(reason, permanent=False, code="network", unknown=True)
        return Sent(str(message.sid))

    async def find(self, job: npb.NotificationJob, since_ms: int) -> Outcome | None:
        # The provider lists a number's messages newest first; ours is the one with this
        # notice's text created since the attempt began (the clock skew allowed for).
        sender = self._settings.twilio_from
        origin = {} if sender.startswith("MG") else {"from_": sender}
        body = built(self.body, job)
        since = datetime.fromtimestamp(since_ms / 1000 - _CLOCK_SKEW_S, UTC)
        try:
            async with asyncio.timeout(self._settings.send_timeout_s):
                recent = await self._client.messages.list_async(
                    to=job.address, limit=_LOOKUP_LIMIT, **origin
                )
        except TwilioRestException as e:
            return Failed(f"twilio {e.status} {e.code}: {e.msg}", permanent=False, code="lookup")
        except (aiohttp.ClientError, TimeoutError, OSError) as e:
            return Failed(
                f"twilio unreachable: {e!r}", permanent=False, code="lookup", unknown=True
            )
        for message in recent:
            created = message.date_created
            if message.body == body and (created is None or created >= since):
                return Sent(str(message.sid))
        return None

    def _callback(self, job: npb.NotificationJob) -> str:
        base = self._settings.webhook_url or self._settings.public_url
        # p: when it was planned, the day whose figures its receipt counts in (hooks)
        planned = job.planned_at.ToMilliseconds()
        return f"{base}/v1/twilio/status?s={job.shipment_id}&p={planned}&n={job.notification_id}"

    async def close(self) -> None:
        if self._http.session is not None:
            await self._http.session.close()


# Headers with addresses are made by the mail library's header registry from Address
# objects, which quote and encode a display name and refuse a line break in an address; the
# rest of the message stays in the compat32 classes (a sixth of the cost).
_ONE_LINE = policy.SMTP.clone(max_line_length=0, linesep="\n")  # compat32 folds it
_NOT_IN_A_NAME = frozenset(("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"))
_JOINERS = "\u200c\u200d"  # format characters that some scripts spell names with


def _address(name: str, address: str) -> Address:
    """A mailbox. Control characters and the like, which no name holds (registration
    refuses them as ingest/schemas.py says, but a job may predate that), become spaces; and
    "=?" loses its meaning: the library decodes an encoded word even inside a quoted name,
    line breaks and all."""
    clean = "".join(
        " " if unicodedata.category(c) in _NOT_IN_A_NAME and c not in _JOINERS else c for c in name
    )
    return Address(display_name=" ".join(clean.replace("=?", "= ?").split()), addr_spec=address)


def _header_value(name: str, address: Address) -> str:
    value = str(_ONE_LINE.header_factory(name, address).fold(policy=_ONE_LINE))
    value = value.partition(":")[2].strip()
    if "\r" in value or "\n" in value:  # whatever the library missed: never a second header
        raise ValueError(f"{name} would span lines")
    return value


@lru_cache(maxsize=4096)  # a contact gets several notices of one shipment
def _to(name: str, address: str) -> str:
    return _header_value("To", _address(name, address))


@lru_cache(maxsize=1024)  # a subject is a catalog's, per kind, status and language
def _subject(subject: str) -> str:
    """The Subject header's value: ASCII as it is; else encoded words (RFC 2047), folded
    as message() folds it, leaving room on the first line for "Subject: "."""
    if "\r" in subject or "\n" in subject:  # never a second header
        raise ValueError("the subject would span lines")
    if subject.isascii():
        return subject
    return Header(subject, "utf-8", header_name="Subject").encode(linesep="\r\n")


def _part(boundary: str, subtype: str, text: str) -> bytes:
    """One part of the alternative, as MIMEText(text, subtype, "utf-8") flattens it."""
    head = (
        f"--{boundary}\r\n"
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        "MIME-Version: 1.0\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
    )
    body = base64.encodebytes(text.encode()).replace(b"\n", b"\r\n")
    return head.encode() + body + b"\r\n"


_IDLE_S = 30.0  # a pooled connection unused this long is closed: no relay connection held forever


class _Connection(aiosmtplib.SMTP):
    """A connection to the relay that knows whether its current message reached DATA."""

    data_began = False

    async def data(self, *args: Any, **kwargs: Any) -> aiosmtplib.SMTPResponse:
        self.data_began = True
        return await super().data(*args, **kwargs)

    async def send_raw(
        self, message: bytes, *, sender: str, recipients: list[str]
    ) -> tuple[dict[str, aiosmtplib.SMTPResponse], str]:
        """Sends an email laid out already, with MAIL FROM's options as send_message asks
        them of the relay."""
        await self._ehlo_or_helo_if_needed()
        options = []
        if not all(a.isascii() for a in (sender, *recipients)):
            if not self.supports_extension("smtputf8"):
                raise aiosmtplib.SMTPNotSupported("a non-ASCII address, and no SMTPUTF8 here")
            options.append("SMTPUTF8")
        if self.supports_extension("8BITMIME"):
            options.append("BODY=8BITMIME")
        return await self.sendmail(sender, recipients, message, mail_options=options)


class SmtpEmail:
    channel = pb.CHANNEL_EMAIL

    def __init__(self, settings: Settings, *, idle_s: float = _IDLE_S) -> None:
        self._settings = settings
        self._idle_s = idle_s
        self._envelope_from = parseaddr(settings.mail_from)[1]
        self._domain = self._envelope_from.rpartition("@")[2] or "localhost"
        self._from = _header_value("From", _address(*parseaddr(settings.mail_from)))
        # A connection per email (connect, EHLO, QUIT) costs more than the email: connections
        # are kept and reused, each by one send at a time, at most one per send in flight.
        self._slots = asyncio.Semaphore(settings.sends_in_flight)
        self._idle: dict[_Connection, asyncio.TimerHandle] = {}  # each with its closing timer
        self._closed = False
        self._quitting: set[asyncio.Task[None]] = set()

    def message(self, job: npb.NotificationJob) -> Message:
        # The compat32 MIME classes: a sixth of the cost of EmailMessage's header registry,
        # which made building each email cost more than sending it.
        mail = self.words(job)
        msg = MIMEMultipart("alternative")
        msg["From"] = self._from
        msg["To"] = _to(job.name, job.address)
        subject = mail.subject
        # header_name: the first line leaves room for "Subject: ", so a long subject is not
        # folded again before its first word (read back, it would begin with a space)
        msg["Subject"] = (
            subject
            if subject.isascii()
            else Header(subject, "utf-8", header_name="Subject").encode()
        )
        msg["Date"] = formatdate(localtime=False)
        # Derived from the notification id: a resent copy is recognisable as the same message.
        msg["Message-ID"] = self.message_id(job)
        msg["List-Unsubscribe"] = f"<mailto:{self._envelope_from}?subject=unsubscribe>"
        msg.attach(MIMEText(mail.text, "plain", "utf-8"))
        msg.attach(MIMEText(mail.html, "html", "utf-8"))
        return msg

    def raw(self, job: npb.NotificationJob) -> bytes:
        """The email as it is sent: message()'s headers and parts, in its order, laid out
        here directly. The library's generator, re-folding every header and encoding each
        part through its MIME classes, cost more than the sending itself."""
        mail = self.words(job)
        subject = _subject(mail.subject)
        boundary = f"{'=' * 15}{uuid.uuid4().int % 10**19:019d}=="  # as the library makes it
        head = (
            f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n'
            "MIME-Version: 1.0\r\n"
            f"From: {self._from}\r\n"
            f"To: {_to(job.name, job.address)}\r\n"
            f"Subject: {subject}\r\n"
            f"Date: {formatdate(localtime=False)}\r\n"
            f"Message-ID: {self.message_id(job)}\r\n"
            f"List-Unsubscribe: <mailto:{self._envelope_from}?subject=unsubscribe>\r\n"
            "\r\n"
        )
        return b"".join(
            (
                head.encode(),
                _part(boundary, "plain", mail.text),
                _part(boundary, "html", mail.html),
                f"--{boundary}--\r\n".encode(),
            )
        )

    def words(self, job: npb.NotificationJob) -> texts.Email:
        if job.kind != npb.NOTICE_KIND_UNSPECIFIED:  # the survey loop's
            return loop_notices.email(job, self._settings)
        lang, status, failure = _texts(job)
        link = tracking_url(self._settings.public_url, job.tracking_id)
        return texts.email(
            lang, _party(job), status, tracking_url=link, failure=failure,
            handed_over=_handed_over(job),
        )  # fmt: skip

    async def send(self, job: npb.NotificationJob) -> Outcome:
        message = built(self.raw, job)
        # The envelope names the one recipient: no header can add another.
        envelope = {"sender": self._envelope_from, "recipients": [job.address]}
        try:
            async with self._slots:
                errors = await self._deliver(message, envelope)
        except aiosmtplib.SMTPRecipientsRefused as e:
            code = min(r.code for r in e.recipients)
            return Failed(f"smtp {code}: recipient refused", permanent=code >= 500, code=str(code))
        except aiosmtplib.SMTPResponseException as e:
            return Failed(f"smtp {e.code}: {e.message}", permanent=e.code >= 500, code=str(e.code))
        except aiosmtplib.SMTPConnectError as e:
            return Failed(f"smtp unreachable: {e!r}", permanent=False, code="network")
        except (aiosmtplib.SMTPTimeoutError, aiosmtplib.SMTPServerDisconnected, TimeoutError) as e:
            reason = f"smtp no answer: {e!r}"
            return Failed(reason, permanent=False, code="network", unknown=True)
        except (aiosmtplib.SMTPException, OSError) as e:
            return Failed(f"smtp unreachable: {e!r}", permanent=False, code="network")
        if errors:
            code = min(c for c, _ in errors.values())
            return Failed(f"smtp {code}: recipient refused", permanent=code >= 500, code=str(code))
        return Sent(self.message_id(job))

    async def _deliver(
        self, message: bytes, envelope: dict[str, Any]
    ) -> dict[str, aiosmtplib.SMTPResponse]:
        if self._idle:
            client, timer = self._idle.popitem()  # the newest: when load drops, the rest expire
            timer.cancel()
            try:
                return await self._transact(client, message, envelope)
            except aiosmtplib.SMTPServerDisconnected:
                if client.data_began:
                    raise  # the relay may have the message: unknown, as on a fresh connection
                # The relay closed it while it was idle; it never had the message: once more.
        s = self._settings
        client = _Connection(
            hostname=s.smtp_host,
            port=s.smtp_port,
            local_hostname=self._domain,  # else aiosmtplib asks getfqdn() in a thread, each time
            username=s.smtp_username or None,
            password=s.smtp_password or None,
            start_tls=s.smtp_starttls,
            timeout=s.send_timeout_s,
        )
        await client.connect()  # closes itself if it fails
        return await self._transact(client, message, envelope)

    async def _transact(
        self, client: _Connection, message: bytes, envelope: dict[str, Any]
    ) -> dict[str, aiosmtplib.SMTPResponse]:
        """Sends on the connection, which then goes back to the pool, or after an error away.

        A connection dropped says its goodbye after the outcome is reported, so a crash finds
        as few notices in doubt as it can.
        """
        client.data_began = False
        try:
            errors, _ = await client.send_raw(message, **envelope)
        except aiosmtplib.SMTPRecipientsRefused:
            self._release(client)  # aiosmtplib has reset the envelope: the session is fine
            raise
        except BaseException:
            self._goodbye(client)
            raise
        self._release(client)
        return errors

    def _release(self, client: _Connection) -> None:
        if self._closed or not client.is_connected:
            self._goodbye(client)
            return
        timer = asyncio.get_running_loop().call_later(self._idle_s, self._expire, client)
        self._idle[client] = timer

    def _expire(self, client: _Connection) -> None:
        del self._idle[client]
        self._goodbye(client)

    async def find(self, job: npb.NotificationJob, since_ms: int) -> Outcome | None:
        # SMTP cannot be asked what it accepted (RFC 1047's duplicate window): send again,
        # with the same Message-ID, so mail systems and readers can tell it is one message.
        return None

    def message_id(self, job: npb.NotificationJob) -> str:
        return f"<{job.notification_id}@{self._domain}>"

    def _goodbye(self, client: aiosmtplib.SMTP) -> None:
        if not client.is_connected:
            return
        task = asyncio.create_task(self._quit(client))
        self._quitting.add(task)
        task.add_done_callback(self._quitting.discard)

    async def _quit(self, client: aiosmtplib.SMTP) -> None:
        try:
            await client.quit()
        except (aiosmtplib.SMTPException, TimeoutError, OSError):
            client.close()

    async def close(self) -> None:
        self._closed = True
        while self._idle:
            client, timer = self._idle.popitem()
            timer.cancel()
            self._goodbye(client)
        await asyncio.gather(*self._quitting, return_exceptions=True)


# -- Web Push ------------------------------------------------------------------------------

PUSH_TTL_S = 24 * 3600  # a phone off for a day still hears of its parcel
# Statuses the reader may act on today: the push service wakes a sleeping phone for them.
_URGENT = frozenset((Status.OUT_FOR_DELIVERY, Status.DELIVERY_ATTEMPTED, Status.DELIVERED))
# 404, 410: the subscription is gone for good (RFC 8030 section 7.3)
_PUSH_GONE = frozenset((404, 410))
_PUSH_TRANSIENT = frozenset((408, 425, 429))  # and every 5xx


def vapid(settings: Settings) -> Vapid:
    """The VAPID signer of our key; ConfigError unless the key, its public key (when set)
    and the subject are what the push services will accept."""
    private, public = env_name("vapid_private_key"), env_name("vapid_public_key")
    try:
        key = Vapid.from_raw(settings.vapid_private_key.encode())
    except ValueError:  # 32 bytes that are no P-256 key (zero, or past the curve's order)
        raise ConfigError(f"{private}: not a P-256 private key") from None
    if settings.vapid_public_key:
        try:
            pair = Vapid.from_raw_public(settings.vapid_public_key.encode())
        except ValueError:  # 65 bytes that are no point of the curve
            raise ConfigError(f"{public}: not a P-256 public key") from None
        if pair.public_key != key.public_key:
            raise ConfigError(f"{public}: not the public key of {private}")
    try:  # py_vapid's own checks of the claims, made once here rather than at every send
        key.sign({"sub": settings.vapid_subject, "aud": "https://push.example"})
    except VapidException as e:
        raise ConfigError(f"{env_name('vapid_subject')}: {e}") from None
    return key


class WebPush:
    """Web Push (RFC 8030): the payload encrypted for the subscription (aes128gcm, RFC
    8291), signed with our VAPID key (RFC 8292), POSTed to its endpoint on the lane's one
    aiohttp session, which never repeats a POST itself."""

    channel = pb.CHANNEL_PUSH

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._vapid = vapid(settings)
        self._session: aiohttp.ClientSession | None = None

    def payload(self, job: npb.NotificationJob) -> bytes:
        """What the service worker shows: small (a push service takes about 4 KB)."""
        lang, status, failure = _texts(job)
        words = texts.push(lang, _party(job), status, failure=failure)
        return orjson.dumps(
            {
                "title": words.title,
                "body": words.body,
                "url": tracking_url(self._settings.public_url, job.tracking_id),
                "tag": job.tracking_id,  # a newer notification of the parcel replaces this one
                "lang": lang,
            }
        )

    async def send(self, job: npb.NotificationJob) -> Outcome:
        payload = built(self.payload, job)
        subscription = built(_subscription, job)
        headers = {
            "Urgency": "high" if Status.from_proto(job.status) in _URGENT else "normal",
            "Topic": _topic(job),  # the push service keeps only the newest one not yet read
        }
        try:
            async with asyncio.timeout(self._settings.send_timeout_s):
                await webpush_async(
                    subscription,
                    payload.decode(),
                    vapid_private_key=self._vapid,
                    vapid_claims={"sub": self._settings.vapid_subject},
                    ttl=PUSH_TTL_S,
                    headers=headers,
                    timeout=self._settings.send_timeout_s,
                    aiohttp_session=self._client(),
                )
        except WebPushException as e:
            return _push_refused(e)
        except aiohttp.ClientConnectorError as e:
            return Failed(f"push service unreachable: {e!r}", permanent=False, code="network")
        except (aiohttp.ClientError, TimeoutError, OSError) as e:
            reason = f"push service no answer: {e!r}"
            return Failed(reason, permanent=False, code="network", unknown=True)
        return Sent("")  # its Location names the message, but too long to keep and of no use

    async def find(self, job: npb.NotificationJob, since_ms: int) -> Outcome | None:
        # A push service cannot be asked what it took: send again. The same Topic and tag
        # make a second copy replace the first, at the push service and on the phone.
        return None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:  # made in the running loop, on first use
            self._session = aiohttp.ClientSession()
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def _subscription(job: npb.NotificationJob) -> dict[str, Any]:
    """The W3C PushSubscription a push job names; ValueError if no push could reach it."""
    endpoint = urlsplit(job.address)
    if endpoint.scheme not in ("https", "http") or not endpoint.hostname:
        raise ValueError("the endpoint is not an http(s) URL")
    p256dh, auth = _unb64(job.push_p256dh), _unb64(job.push_auth)
    if len(p256dh) != 65 or p256dh[0] != 4:
        raise ValueError("p256dh is not a P-256 public key (65 bytes, 04...)")
    if len(auth) != 16:
        raise ValueError("auth is not 16 bytes")
    return {"endpoint": job.address, "keys": {"p256dh": job.push_p256dh, "auth": job.push_auth}}


def _topic(job: npb.NotificationJob) -> str:
    """RFC 8030's Topic, per shipment: 32 base64url characters, which the push service reads
    but cannot trace back to the shipment."""
    digest = hashlib.sha256(job.shipment_id.encode()).digest()[:24]
    return base64.urlsafe_b64encode(digest).decode()


def _push_refused(e: WebPushException) -> Failed:
    status = e.status_code
    # "Push failed: 410 Gone\nResponse body:..." as pywebpush says it: "410 Gone: ..."
    answer, _, body = str(e.message).removeprefix("Push failed: ").partition("Response body:")
    said = ": ".join(" ".join(part.split()) for part in (answer, body) if part.strip())[:200]
    if status is None:  # raised before any request: the subscription cannot be used
        return Failed(f"push: {said}", permanent=True, code="unbuildable", unbuildable=True)
    reason, code = f"push {said}", str(status)
    if status in _PUSH_GONE:
        return Failed(reason, permanent=True, code=code, gone=True)
    if status >= 500 or status in _PUSH_TRANSIENT:
        retry_after = _retry_after_s(e.retry_after)
        return Failed(reason, permanent=False, code=code, retry_after_s=retry_after)
    return Failed(reason, permanent=True, code=code, dead_letter=True)


def _retry_after_s(value: str | None) -> float | None:
    """Retry-After (RFC 9110): seconds, or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:  # binascii.Error
        return b""
