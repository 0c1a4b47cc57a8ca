"""The survey email's landing page, served by hooks onto the real feedback topic: a link's
GET records nothing (mail scanners open every link), the form's POST records the answer
with the contract's ids (the same form sent again is the same event), an unhappy score asks
what went wrong; forged links, bad fields, an ended survey and another site's form are
refused, as a page for a browser and as JSON for other clients."""

from __future__ import annotations

import re
from typing import Any

import pytest
from multidict import CIMultiDictProxy

from shipnotify.hooks import landing
from shipnotify.model import survey
from shipnotify.model.feedback_events import follow_up_id
from shipnotify.model.survey import survey_token
from shipnotify.store.feedback import Survey
from shipnotify.v1 import feedback_pb2 as fpb
from shipnotify.v1 import shipment_events_pb2 as pb
from shipnotify.v1 import survey_pb2 as spb
from tests.fake_feedback import DAY_MS, sent

from .conftest import unique
from .survey_hooks import BASE, Hooks, hooks

__all__ = ["hooks"]  # the fixture
HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
EMAIL = "ana@example.com"


def emailed(hooks: Hooks, *, locale: str = "en", sent_ms_ago: int = 60_000) -> Survey:
    return hooks.feedback.put(
        sent(
            unique("mail"),
            channel=pb.CHANNEL_EMAIL,
            address=EMAIL,
            locale=locale,
            sent_ms_ago=sent_ms_ago,
        )
    )


def token_of(hooks: Hooks, asked: Survey) -> str:
    return survey_token(hooks.settings.opt_out_secret, asked.shipment_id, asked.survey_id)


def nonce_in(page: str) -> str:
    found = re.search(r'name="nonce" value="([^"]+)"', page)
    assert found, page
    return found[1]


def checked(page: str, name: str) -> list[str]:
    return re.findall(rf'name="{name}" value="([^"]+)"[^>]*\bchecked\b', page)


async def show(hooks: Hooks, path: str, **headers: str) -> tuple[int, str, CIMultiDictProxy[str]]:
    resp = await hooks.client.get(path, headers={**HTML, **headers})
    return resp.status, await resp.text(), resp.headers


async def post(
    hooks: Hooks, path: str, form: dict[str, str], headers: dict[str, str] | None = None
) -> tuple[int, str]:
    resp = await hooks.client.post(path, data=form, headers=HTML if headers is None else headers)
    return resp.status, await resp.text()


# -- a link's GET records nothing -----------------------------------------------------------


async def test_every_scores_link_shows_its_score_chosen_and_records_nothing(hooks: Hooks) -> None:
    asked = emailed(hooks)
    token = token_of(hooks, asked)
    for score in range(1, 6):
        link = survey.survey_link("https://hooks.example", token, score)
        path = link.removeprefix("https://hooks.example")
        status, page, headers = await show(hooks, path)
        assert status == 200, page
        assert checked(page, "score") == [str(score)]
        assert "How satisfied are you with this delivery?" in page
        assert headers["Content-Security-Policy"] == landing.POLICY
        assert headers["Cache-Control"] == "no-store"
        assert headers["Referrer-Policy"] == "same-origin"
        # as a mail scanner asks: any type, or only the headers
        assert (await hooks.client.get(path)).status == 200
        assert (await hooks.client.head(path)).status == 200
    status, page, _ = await show(hooks, f"/s/{token}")
    assert (status, checked(page, "score")) == (200, [])
    status, page, _ = await show(hooks, f"/s/{token}?score=7")  # off the scale: none chosen
    assert (status, checked(page, "score")) == (200, [])
    assert await hooks.appended() == []


async def test_the_page_speaks_the_surveys_language_and_switches(hooks: Hooks) -> None:
    token = token_of(hooks, emailed(hooks, locale="ro-MD"))
    status, page, _ = await show(hooks, f"/s/{token}?score=4")
    assert status == 200
    assert '<html lang="ro">' in page
    assert "Cât de mulțumit sunteți de această livrare?" in page
    assert 'href="?score=4&amp;lang=ru"' in page  # the switch keeps the chosen score
    status, page, _ = await show(hooks, f"/s/{token}?score=4&lang=ru")
    assert '<html lang="ru">' in page
    assert "Насколько вы довольны этой доставкой?" in page
    assert checked(page, "score") == ["4"]
    assert f'action="/s/{token}?lang=ru"' in page  # the answer's pages stay in Russian
    status, _, _ = await show(hooks, f"/s/{token}?lang=xx")
    assert status == 422
    resp = await hooks.client.get(f"/s/{token}?lang=xx")
    assert (await resp.json())["fields"] == {"lang": "unsupported: xx"}


async def test_the_stylesheet_is_served_by_its_versioned_name(hooks: Hooks) -> None:
    _, page, _ = await show(hooks, f"/s/{token_of(hooks, emailed(hooks))}")
    [href] = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page)
    assert re.fullmatch(r"/s/static/landing\.[0-9a-f]{12}\.css", href)
    resp = await hooks.client.get(href)
    assert resp.status == 200
    assert resp.content_type == "text/css"
    assert resp.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert ".send{" in await resp.text()
    assert (await hooks.client.get("/s/static/landing.000000000000.css")).status == 404


# -- the form's POST records ------------------------------------------------------------------


async def test_a_low_score_is_recorded_with_its_case_then_what_went_wrong(hooks: Hooks) -> None:
    asked = emailed(hooks)
    hooks.feedback.contexts[asked.shipment_id] = ("north", "c-17")
    token = token_of(hooks, asked)
    _, page, _ = await show(hooks, f"/s/{token}?score=2")
    nonce = nonce_in(page)
    status, page = await post(hooks, f"/s/{token}?lang=en", {"score": "2", "nonce": nonce})
    assert status == 200, page
    assert "Thank you for your answer!" in page
    assert "What went wrong?" in page
    assert re.findall(r'name="reason" value="([a-z_]+)"', page) == [
        "late",
        "not_informed",
        "damaged",
        "courier_manner",
        "missed_delivery",
        "other",
    ]
    assert 'maxlength="500"' in page
    answer, case = await hooks.appended()
    answer_id = survey.feedback_event_id("email", token, nonce)
    assert (answer.event_id, answer.shipment_id) == (answer_id, asked.shipment_id)
    assert answer.survey_answered == fpb.SurveyAnswered(
        survey_id=asked.survey_id,
        scale=spb.SCALE_CSAT,
        score=2,
        source=spb.ANSWER_SOURCE_EMAIL,
        unhappy=True,
    )
    assert case.event_id == survey.feedback_event_id("case", answer_id)
    assert case.case_opened.case_id == survey.case_id(asked.survey_id)
    assert (case.case_opened.depot, case.case_opened.courier_id) == ("north", "c-17")

    second = nonce_in(page)
    assert second != nonce
    status, page = await post(
        hooks,
        f"/s/{token}/follow-up?lang=en",
        {"reason": "damaged", "comment": "The box was crushed.\r\nAll of it.", "nonce": second},
    )
    assert status == 200, page
    assert "Thank you for telling us." in page
    *_, follow_up = await hooks.appended()
    assert follow_up.event_id == follow_up_id("email", token, second)
    assert follow_up.follow_up_answered == fpb.FollowUpAnswered(
        survey_id=asked.survey_id,
        reason=spb.REASON_DAMAGED,
        comment="The box was crushed.\nAll of it.",
        source=spb.ANSWER_SOURCE_EMAIL,
    )


async def test_a_happy_score_is_thanked_and_asks_nothing_more(hooks: Hooks) -> None:
    asked = emailed(hooks, locale="ru")
    token = token_of(hooks, asked)
    _, page, _ = await show(hooks, f"/s/{token}?score=5")
    status, page = await post(hooks, f"/s/{token}", {"score": "5", "nonce": nonce_in(page)})
    assert status == 200
    assert "Спасибо за ваш ответ!" in page
    assert 'name="reason"' not in page
    [answer] = await hooks.appended()
    assert (answer.survey_answered.score, answer.survey_answered.unhappy) == (5, False)


async def test_the_same_form_sent_again_is_the_same_event(hooks: Hooks) -> None:
    asked = emailed(hooks)
    token = token_of(hooks, asked)
    _, page, _ = await show(hooks, f"/s/{token}?score=4")
    form = {"score": "4", "nonce": nonce_in(page)}
    for _ in range(2):  # a double tap, or a retry after a lost answer
        assert (await post(hooks, f"/s/{token}", form))[0] == 200
    first, again = await hooks.appended()
    assert (
        first.event_id == again.event_id == survey.feedback_event_id("email", token, form["nonce"])
    )


# -- refused -----------------------------------------------------------------------------------


async def test_a_forged_or_unknown_link_is_a_404_page(hooks: Hooks) -> None:
    asked = emailed(hooks)
    token = token_of(hooks, asked)
    body, mac = token.split(".")
    forged = f"{body}.{'A' if mac[0] != 'A' else 'B'}{mac[1:]}"
    unknown = survey_token(hooks.settings.opt_out_secret, asked.shipment_id, "no-such-survey")
    for bad in (forged, unknown, "nonsense", f"{body}."):
        status, page, _ = await show(hooks, f"/s/{bad}?score=4")
        assert status == 404, bad
        assert "Survey not found" in page
        resp = await hooks.client.get(f"/s/{bad}?score=4")  # not a browser: JSON
        assert resp.status == 404
        assert await resp.json() == {
            "error": "not_found",
            "message": "no survey has this link",
            "fields": {"token": "unknown"},
        }
        status, _ = await post(hooks, f"/s/{bad}", {"score": "4", "nonce": "x.y"})
        assert status == 404
    assert await hooks.appended() == []


@pytest.mark.parametrize(
    ("form", "field", "said"),
    [
        ({"score": "9"}, "score", "Alegeți o notă de la 1 la 5."),
        ({"score": "0"}, "score", "Alegeți o notă de la 1 la 5."),
        ({"score": "four"}, "score", "Alegeți o notă de la 1 la 5."),
        ({}, "score", "Alegeți o notă de la 1 la 5."),
        ({"score": "4", "nonce": None}, "nonce", "Formularul a expirat. Trimiteți-l din nou."),
        ({"score": "4", "nonce": "forged.nonce"}, "nonce", "Formularul a expirat."),
    ],
)
async def test_a_bad_score_or_a_missing_field_is_the_form_again_naming_it(
    hooks: Hooks, form: dict[str, Any], field: str, said: str
) -> None:
    token = token_of(hooks, emailed(hooks, locale="ro"))
    _, page, _ = await show(hooks, f"/s/{token}")
    sent_form = {k: v for k, v in {"nonce": nonce_in(page), **form}.items() if v is not None}
    status, page = await post(hooks, f"/s/{token}", sent_form)
    assert status == 422
    assert f'data-testid="error-{field}"' in page
    assert said in page
    assert 'data-testid="answer-form"' in page
    assert nonce_in(page)
    resp = await hooks.client.post(f"/s/{token}", data=sent_form)  # not a browser: JSON
    assert resp.status == 422
    body = await resp.json()
    assert body["error"] == "invalid_field"
    assert field in body["fields"]
    assert await hooks.appended() == []


async def test_a_nonce_of_another_surveys_page_is_refused(hooks: Hooks) -> None:
    mine, other = token_of(hooks, emailed(hooks)), token_of(hooks, emailed(hooks))
    _, page, _ = await show(hooks, f"/s/{other}")
    status, _ = await post(hooks, f"/s/{mine}", {"score": "4", "nonce": nonce_in(page)})
    assert status == 422
    assert await hooks.appended() == []


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"reason": "rude"}, "reason"),
        ({}, "reason"),
        ({"reason": "late", "comment": "x" * 501}, "comment"),
        ({"reason": "late", "comment": "bell\x07"}, "comment"),
        ({"reason": "late", "nonce": "forged.nonce"}, "nonce"),
    ],
)
async def test_a_bad_follow_up_is_its_form_again_naming_the_field(
    hooks: Hooks, form: dict[str, str], field: str
) -> None:
    token = token_of(hooks, emailed(hooks))
    _, page, _ = await show(hooks, f"/s/{token}")
    sent_form = {"nonce": nonce_in(page), **form}
    status, page = await post(hooks, f"/s/{token}/follow-up", sent_form)
    assert status == 422
    assert f'data-testid="error-{field}"' in page
    assert 'data-testid="follow-up-form"' in page
    resp = await hooks.client.post(f"/s/{token}/follow-up", data=sent_form)
    assert (resp.status, field in (await resp.json())["fields"]) == (422, True)
    assert await hooks.appended() == []


async def test_a_comment_of_500_characters_with_line_breaks_is_taken(hooks: Hooks) -> None:
    token = token_of(hooks, emailed(hooks))
    _, page, _ = await show(hooks, f"/s/{token}")
    comment = ("x" * 99 + "\r\n") * 5  # as a browser sends 500 characters of five lines
    form = {"reason": "other", "comment": comment, "nonce": nonce_in(page)}
    status, _ = await post(hooks, f"/s/{token}/follow-up", form)
    assert status == 200
    [event] = await hooks.appended()
    assert event.follow_up_answered.comment == ("x" * 99 + "\n") * 4 + "x" * 99


async def test_a_survey_past_its_window_says_so(hooks: Hooks) -> None:
    window_ms = hooks.settings.survey_answer_days * DAY_MS
    token = token_of(hooks, emailed(hooks, sent_ms_ago=window_ms + 1000))
    status, page, _ = await show(hooks, f"/s/{token}?score=4")
    assert status == 410
    assert "This survey has ended" in page
    status, _ = await post(hooks, f"/s/{token}", {"score": "4", "nonce": "x.y"})
    assert status == 410
    assert await hooks.appended() == []


async def test_a_form_posted_from_another_site_is_refused(hooks: Hooks) -> None:
    token = token_of(hooks, emailed(hooks))
    _, page, _ = await show(hooks, f"/s/{token}")
    form = {"score": "4", "nonce": nonce_in(page)}
    for origin in ("https://evil.example", "null", "https://hooks.example.evil.example"):
        status, page = await post(hooks, f"/s/{token}", form, {**HTML, "Origin": origin})
        assert status == 403, origin
        assert "This form cannot be sent" in page
    assert await hooks.appended() == []
    status, _ = await post(hooks, f"/s/{token}", form, {**HTML, "Origin": BASE})  # this site's
    assert status == 200
    assert len(await hooks.appended()) == 1
