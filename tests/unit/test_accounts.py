"""Accounts, without I/O: the ids and keys' shapes, the account events' decoding, what
applying each event writes (once per event id), and a replay's jobs."""

from __future__ import annotations

import base64
import uuid
from typing import get_args

import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from shipnotify.ingest.account_schemas import EventType
from shipnotify.model import accounts as model
from shipnotify.model import webhooks as wh
from shipnotify.model.codec import MalformedEvent, decode_account
from shipnotify.store.accounts import AccountState, changes, enabled
from shipnotify.v1 import accounts_pb2 as apb
from shipnotify.v1 import notifications_pb2 as npb


def test_ids_keys_and_secrets_have_their_shapes() -> None:
    assert model.new_account_id().startswith("acct_")
    assert len(model.new_account_id()) == len("acct_") + 12
    assert len(model.new_endpoint_id()) == len("ep_") + 12
    key_id, key = model.new_key()
    assert key.startswith(f"sk_{key_id}_")
    assert len(key_id) == 12
    assert model.looks_like_key(key)
    assert not model.looks_like_key("test-key")
    assert len(model.key_sha256(key)) == 64
    secret = model.new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 24


def test_an_account_event_is_decoded_or_named_malformed() -> None:
    event = model.event("acct_1", created=apb.AccountCreated(name="Acme"))
    assert decode_account(event.SerializeToString()) == event
    no_body = apb.AccountEvent(event_id=str(uuid.uuid4()), account_id="acct_1")
    no_body.occurred_at.GetCurrentTime()
    with pytest.raises(MalformedEvent, match="no body"):
        decode_account(no_body.SerializeToString())
    nameless = model.event("acct_1", created=apb.AccountCreated())
    with pytest.raises(MalformedEvent, match=r"created\.name missing"):
        decode_account(nameless.SerializeToString())
    with pytest.raises(MalformedEvent, match="account_id"):
        decode_account(model.event("", created=apb.AccountCreated(name="x")).SerializeToString())
    with pytest.raises(MalformedEvent):
        decode_account(b"\xff\xff")


def test_each_event_is_applied_once() -> None:
    state = AccountState("acct_1")
    event = model.event("acct_1", created=apb.AccountCreated(name="Acme"))
    first = changes(state, event)
    writes = list(state.writes)
    again = changes(state, event)
    assert not first.duplicate
    assert again.duplicate
    assert state.writes == writes  # nothing written twice
    assert ("s", "1", "name", "Acme") in writes


def test_a_revocation_remembers_the_key_it_revoked() -> None:
    state = AccountState("acct_1")
    changes(state, model.event("acct_1", key_added=apb.KeyAdded(key_id="k1", sha256="ab")))
    revoked = model.event("acct_1", key_revoked=apb.KeyRevoked(key_id="k1"))
    assert changes(state, revoked).revoked_sha256 == "ab"
    assert state.keys == {}
    assert changes(state, revoked).revoked_sha256 == "ab"  # a redelivery deletes it again


def test_disabling_keeps_the_endpoint_and_a_removed_one_stays_removed() -> None:
    state = AccountState("acct_1")
    endpoint = apb.Endpoint(endpoint_id="ep_1", url="https://x.example")
    changes(state, model.event("acct_1", endpoint_set=apb.EndpointSet(endpoint=endpoint)))
    off = apb.EndpointDisabled(endpoint_id="ep_1", reason="410 Gone")
    changes(state, model.event("acct_1", endpoint_disabled=off))
    assert state.endpoints["ep_1"].disabled
    assert state.endpoints["ep_1"].url == "https://x.example"
    changes(state, model.event("acct_1", endpoint_removed=apb.EndpointRemoved(endpoint_id="ep_1")))
    before = len(state.writes)
    changes(state, model.event("acct_1", endpoint_disabled=off))
    assert "ep_1" not in state.endpoints
    assert [w[1] for w in state.writes[before:]] == ["4"]  # only the event's id


def test_a_replayed_job_keeps_its_message_under_a_new_notification_id() -> None:
    job = npb.NotificationJob(notification_id=str(uuid.uuid4()), shipment_id="s1")
    job.webhook.message_id = "msg_1"
    one = model.replayed(job, "e1")
    assert one.webhook.message_id == "msg_1"
    assert one.notification_id != job.notification_id
    assert one.notification_id == model.replayed(job, "e1").notification_id
    assert one.notification_id != model.replayed(job, "e2").notification_id
    assert one.notification_id == str(uuid.uuid5(uuid.UUID(job.notification_id), "e1"))


def test_the_api_takes_exactly_the_event_types_webhooks_are_made_of() -> None:
    assert get_args(EventType) == wh.EVENT_TYPES


def _change(endpoint: apb.Endpoint, *fields: str) -> apb.AccountEvent:
    mask = FieldMask(paths=list(fields))
    return model.event("acct_1", endpoint_set=apb.EndpointSet(endpoint=endpoint, fields=mask))


def test_a_change_sets_its_fields_alone_onto_the_endpoint_as_it_stands() -> None:
    """Two changes made from the same read, or a change and the notifier's disabling, never
    undo each other; a change to an endpoint removed meanwhile brings nothing back."""
    state = AccountState("acct_1")
    first = apb.EndpointSecret(secret="whsec_first")
    whole = apb.Endpoint(endpoint_id="ep_1", url="https://a.example/", secrets=[first])
    changes(state, model.event("acct_1", endpoint_set=apb.EndpointSet(endpoint=whole)))
    gone = apb.EndpointDisabled(endpoint_id="ep_1", reason="410 Gone")
    changes(state, model.event("acct_1", endpoint_disabled=gone))
    rotated = apb.Endpoint(
        endpoint_id="ep_1", secrets=[apb.EndpointSecret(secret="whsec_new"), first]
    )
    changes(state, _change(rotated, "secrets"))
    changes(state, _change(apb.Endpoint(endpoint_id="ep_1", url="https://b.example/"), "url"))
    after = state.endpoints["ep_1"]
    assert after.url == "https://b.example/"
    assert [s.secret for s in after.secrets] == ["whsec_new", "whsec_first"]
    assert after.disabled
    assert after.disabled_reason == "410 Gone"
    on = apb.Endpoint(endpoint_id="ep_1", disabled=False)
    turned_on = _change(on, "disabled", "disabled_reason")
    assert enabled(turned_on)
    assert not enabled(_change(on, "url"))
    changes(state, turned_on)
    assert not state.endpoints["ep_1"].disabled
    changes(state, model.event("acct_1", endpoint_removed=apb.EndpointRemoved(endpoint_id="ep_1")))
    changes(state, _change(apb.Endpoint(endpoint_id="ep_1", url="https://c.example/"), "url"))
    assert "ep_1" not in state.endpoints
