"""The survey loop through kill -9: 200 deliveries, each party asked (SMS or email) as soon
as it is delivered, the SMS surveys answered as they arrive (every third badly, then what
went wrong), while the tracker (both its consumers) and the notifier are killed again and
again. No survey goes twice, no answer is lost, every unhappy answer opens one case, whose
apology and supervisor's alert go once."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from shipnotify.i18n import text
from shipnotify.model import survey
from shipnotify.store.feedback import CaseFilter, FeedbackStore
from shipnotify.store.notices import now_ms
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import survey_pb2 as spb

from .harness import Figures, Parcel, Stack, make_load, stack, timed

# one scenario at a time, even with pytest-xdist's workers: each loads the machine on its own
pytestmark = [pytest.mark.timeout(400), pytest.mark.xdist_group("faults")]

SHIPMENTS = 200
HELP = text("en", "reply.help")  # hooks' answer to a number with no survey awaiting (yet)


class Customers:
    """The SMS parties of the load: each answers its survey when it arrives (every third
    with a 1, the rest with "4 thanks"), and an unhappy one its follow-up ("2 nobody told
    me"). A reply hooks could not take yet (its survey not applied) is sent again later, as
    a person would."""

    def __init__(self, s: Stack, parcels: list[Parcel]) -> None:
        self.s = s
        self.url = s.hooks_url + "/v1/twilio/inbound"
        self.surveys: dict[str, tuple[Parcel, str, bool]] = {}  # SMS survey's notice id ->
        self.follow_ups: dict[str, str] = {}  # a follow-up's notice id -> its survey id
        self.answered: set[str] = set()  # notice ids answered, and taken by hooks
        self.retries = 0
        for n, parcel in enumerate(parcels):
            party = next(p for p, (channel, _) in parcel.contacts.items() if channel == "sms")
            sid = survey.survey_id(_delivered(parcel), party)
            unhappy = n % 3 == 0
            self.surveys[survey.notice_id(sid, "survey")] = (parcel, sid, unhappy)
            if unhappy:
                self.follow_ups[survey.notice_id(sid, "follow_up")] = sid

    async def answer(self) -> None:
        """Until every survey and follow-up is answered."""
        while not self.all_answered:
            for m in list(self.s.sms.messages):
                nid = parse_qs(urlsplit(m.status_callback or "").query)["n"][0]
                if nid in self.answered:
                    continue
                if nid in self.surveys:
                    body = "1" if self.surveys[nid][2] else "4 thanks"
                elif nid in self.follow_ups:
                    body = "2 nobody told me"
                else:
                    continue
                status, reply = await self.s.sms.send_inbound(self.url, m.to, m.from_ or "", body)
                if status == 200 and HELP not in reply:
                    self.answered.add(nid)
                else:
                    self.retries += 1
            await asyncio.sleep(0.2)

    def progress(self) -> str:
        arrived = {
            parse_qs(urlsplit(m.status_callback or "").query)["n"][0] for m in self.s.sms.messages
        }
        surveys, follow_ups = set(self.surveys), set(self.follow_ups)
        return (
            f"surveys {len(surveys)}: arrived {len(surveys & arrived)}, answered"
            f" {len(surveys & self.answered)}; follow-ups {len(follow_ups)}: arrived"
            f" {len(follow_ups & arrived)}, answered {len(follow_ups & self.answered)};"
            f" replies sent again {self.retries}"
        )

    @property
    def all_answered(self) -> bool:
        return self.answered >= set(self.surveys) | set(self.follow_ups)


def _delivered(parcel: Parcel) -> str:
    return str(next(t["event_id"] for t in parcel.taps if t["status"] == "delivered"))


def _loop_notices(parcels: list[Parcel], customers: Customers) -> set[str]:
    """Every survey-loop notice the load calls for: each party's survey, and for each
    unhappy answer its follow-up, apology and supervisor's alert."""
    ids = set(customers.follow_ups)
    for parcel in parcels:
        for party in (npb.PARTY_ROLE_SENDER, npb.PARTY_ROLE_RECIPIENT):
            ids.add(survey.notice_id(survey.survey_id(_delivered(parcel), party), "survey"))
    for sid in customers.follow_ups.values():
        case = survey.case_id(sid)
        ids |= {survey.notice_id(case, "apology"), survey.notice_id(case, "alert")}
    return ids


async def test_surveys_and_answers_while_the_tracker_and_notifier_are_killed(
    tmp_path: Path,
) -> None:
    figures = Figures("surveys and answers, kill -9, tracker x6 and notifier x6")
    parcels = make_load(SHIPMENTS, seed=7, surveys=True)
    rng = random.Random(7)
    depots = "*=care@carrier.example UTC 23:59"
    async with stack(tmp_path, survey_delay_s=0, depots=depots) as s:
        customers = Customers(s, parcels)
        loop_notices = _loop_notices(parcels, customers)
        with timed(figures):
            s.start_all()
            await s.ready()
            answering = asyncio.create_task(customers.answer())
            load = asyncio.create_task(s.drive(parcels, over_s=20))
            victims = ["tracker"] * 6 + ["notifier"] * 6
            rng.shuffle(victims)
            for name in victims:  # while surveys go out and answers come in
                await asyncio.sleep(rng.uniform(1.0, 3.0))
                s.services.kill(name, rng)
                s.services.start(name)
            await load
            finished, _ = await asyncio.wait([answering], timeout=180)
            if not finished:
                answering.cancel()
                raise AssertionError(customers.progress())
            await s.settle(parcels, also=loop_notices)
        store = FeedbackStore(s.redis, opt_out_secret=s.settings.opt_out_secret.encode())
        wrong = []
        for parcel, sid, unhappy in customers.surveys.values():
            got = await store.survey(parcel.shipment_id, sid)
            score = 1 if unhappy else 4
            if got is None or got.answer is None or got.answer.score != score:
                wrong.append((parcel.shipment_id, "answer"))
            elif unhappy and (
                got.follow_up is None or got.follow_up.reason != spb.REASON_NOT_INFORMED
            ):
                wrong.append((parcel.shipment_id, "follow-up"))
        cases = await store.cases(CaseFilter(state=None, limit=10_000), now_ms())
        opened = [c.case_id for c in cases]
        expected_cases = {survey.case_id(sid) for sid in customers.follow_ups.values()}
        figures.extra["answers recorded"] = len(customers.surveys) - len(wrong)
        figures.extra["cases"] = len(opened)
        figures.extra["answers sent again"] = customers.retries
        await s.verify(parcels, figures, also=loop_notices)
    assert customers.all_answered
    assert wrong == []  # no answer lost
    assert sorted(opened) == sorted(expected_cases)  # every unhappy answer: one case, once
    assert len(set(opened)) == len(opened)
