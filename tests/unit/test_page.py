from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from shipnotify import i18n, status_api
from shipnotify.i18n.labels import FAILURE_LABELS, LANGUAGES, STATUS_LABELS
from shipnotify.model.status import TERMINAL, AttemptFailure, Status
from shipnotify.status_api.app import Place, TimelineItem, Tracking
from shipnotify.status_api.assets import ASSETS, BY_NAME, WORKER, versioned
from shipnotify.status_api.page import UI, PushOffer, SurveyOffer, not_found, render
from shipnotify.v1 import survey_pb2 as spb
from shipnotify.web.pages import script_json

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
VOID = {"meta", "link", "br", "img", "input", "hr", "source", "wbr"}
Event = tuple[Status, AttemptFailure | None, Place | None]


@dataclass
class Node:
    tag: str
    attrs: dict[str, str | None]
    children: list[Node] = field(default_factory=list)
    text: str = ""

    def all(self) -> list[Node]:
        return [self, *(d for c in self.children for d in c.all())]

    def find(self, **attrs: str) -> list[Node]:
        want = {k.replace("_", "-"): v for k, v in attrs.items()}
        return [n for n in self.all() if all(n.attrs.get(k) == v for k, v in want.items())]

    def tags(self, tag: str) -> list[Node]:
        return [n for n in self.all() if n.tag == tag]

    def one(self, **attrs: str) -> Node:
        (node,) = self.find(**attrs)
        return node

    def content(self) -> str:
        return self.text + "".join(c.content() for c in self.children)


class Tree(HTMLParser):
    """A strict little DOM: every element but the void ones must be closed, in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs))
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(Node("#text", {}, text=data))


def parse(page: str) -> Node:
    tree = Tree()
    tree.feed(page)
    tree.close()
    assert tree.stack == [tree.root], "unclosed elements"
    return tree.root


def tracking(lang: str, events: list[Event], *, tracking_id: str = "SN123456789MD") -> Tracking:
    items = [
        TimelineItem(
            status=status.value,
            label=STATUS_LABELS[lang][status],
            occurred_at=T0 + timedelta(hours=n),
            recorded_at=T0 + timedelta(hours=n, seconds=5),
            advanced=True,
            failure=failure.value if failure else None,
            failure_label=FAILURE_LABELS[lang][failure] if failure else None,
            location=place,
        )
        for n, (status, failure, place) in enumerate(events)
    ]
    last = events[-1][0]
    return Tracking(
        tracking_id=tracking_id,
        lang=lang,
        status=last.value,
        label=STATUS_LABELS[lang][last],
        final=last in TERMINAL,
        status_at=items[-1].occurred_at,
        timeline=items,
    )


HUB = Place(depot="Chișinău hub", city="Chișinău", country_code="MD")
ROAD: list[Event] = [
    (Status.REGISTERED, None, None),
    (Status.CONFIRMED, None, None),
    (Status.PICKED_UP, None, HUB),
    (Status.IN_TRANSIT, None, HUB),
    (Status.OUT_FOR_DELIVERY, None, Place(city="Bălți")),
]
CASES: dict[str, list[Event]] = {
    "delivered": [*ROAD, (Status.DELIVERED, None, Place(city="Bălți"))],
    "attempted": [*ROAD, (Status.DELIVERY_ATTEMPTED, AttemptFailure.RECIPIENT_ABSENT, None)],
    "returned": [*ROAD[:4], (Status.RETURNED_TO_SENDER, None, HUB)],
    "cancelled": [*ROAD[:2], (Status.CANCELLED, None, None)],
    "collect": [*ROAD[:4], (Status.READY_FOR_COLLECTION, None, HUB)],
}


def stages(doc: Node) -> list[Node]:
    return [n for n in doc.one(id="progress").children if n.tag == "li"]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("case", list(CASES))
def test_page_shows_status_timeline_and_progress(lang: str, case: str) -> None:
    t = tracking(lang, CASES[case])
    page = render(t, lang=lang)
    doc = parse(page)

    (html,) = doc.tags("html")
    assert html.attrs["lang"] == lang
    assert {"header", "main", "footer", "h1"} <= {n.tag for n in doc.all()}
    assert doc.one(data_testid="status").content() == t.label
    assert doc.one(data_testid="live").attrs["aria-live"] == "polite"

    timeline = doc.one(data_testid="timeline")
    assert timeline.tag == "ol"
    items = [n for n in timeline.children if n.tag == "li"]
    assert all(n.attrs["data-testid"] == "timeline-item" for n in items)
    assert [n.attrs["data-status"] for n in items] == [s.value for s, _, _ in CASES[case]][::-1]
    assert items[0].tags("time")[0].attrs["datetime"] == (
        t.timeline[-1].occurred_at.isoformat().replace("+00:00", "Z")
    )
    assert "UTC" in doc.one(id="updated").content()

    current = [n for n in stages(doc) if n.attrs.get("aria-current") == "step"]
    assert len(current) == 1
    for code in LANGUAGES:
        link = doc.one(data_testid=f"lang-{code}")
        assert link.attrs["href"] == f"?lang={code}"
        assert (link.attrs.get("aria-current") == "true") == (code == lang)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_delivered_completes_every_stage(lang: str) -> None:
    doc = parse(render(tracking(lang, CASES["delivered"]), lang=lang))
    classes = [n.attrs["class"] for n in stages(doc)]
    assert classes == ["stage stage--done"] * 5 + ["stage stage--complete"]
    assert stages(doc)[-1].attrs["aria-current"] == "step"
    assert "status--delivered" in (doc.one(data_testid="status").attrs["class"] or "")
    assert "hidden" in doc.one(id="failure").attrs


@pytest.mark.parametrize("lang", LANGUAGES)
def test_failed_attempt_is_shown_as_such(lang: str) -> None:
    doc = parse(render(tracking(lang, CASES["attempted"]), lang=lang))
    failure = FAILURE_LABELS[lang][AttemptFailure.RECIPIENT_ABSENT]
    assert "hidden" not in doc.one(id="failure").attrs
    assert doc.one(id="failure-text").content() == failure
    assert "status--attempted" in (doc.one(data_testid="status").attrs["class"] or "")
    out, delivered = stages(doc)[4:]
    assert out.attrs["class"] == "stage stage--attempted"
    assert out.attrs["aria-current"] == "step"
    assert UI[lang]["attempted"] in out.content()
    assert STATUS_LABELS[lang][Status.OUT_FOR_DELIVERY] in out.content()
    assert delivered.attrs["class"] == "stage stage--todo"
    newest = doc.find(data_testid="timeline-item")[0]
    assert "item--failed" in (newest.attrs["class"] or "")
    assert failure in newest.content()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_ready_for_collection_is_its_own_stage(lang: str) -> None:
    doc = parse(render(tracking(lang, CASES["collect"]), lang=lang))
    stage = stages(doc)[4]
    assert stage.attrs["class"] == "stage stage--collect"
    assert STATUS_LABELS[lang][Status.READY_FOR_COLLECTION] in stage.content()


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(
    ("case", "end", "reached"),
    [("returned", Status.RETURNED_TO_SENDER, 4), ("cancelled", Status.CANCELLED, 2)],
)
def test_returned_and_cancelled_end_apart_from_delivery(
    lang: str, case: str, end: Status, reached: int
) -> None:
    doc = parse(render(tracking(lang, CASES[case]), lang=lang))
    shown = stages(doc)
    assert [n.attrs["class"] for n in shown] == ["stage stage--done"] * reached + [
        "stage stage--ended"
    ]
    assert STATUS_LABELS[lang][end] in shown[-1].content()
    assert STATUS_LABELS[lang][Status.DELIVERED] not in doc.one(id="progress").content()
    assert "status--ended" in (doc.one(data_testid="status").attrs["class"] or "")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_external_resources(lang: str) -> None:
    shipment = render(tracking(lang, CASES["delivered"]), lang=lang)
    for page, scripts in ((shipment, [ASSETS["page.js"].url]), (not_found(lang, "X"), [])):
        doc = parse(page)
        # its own stylesheet and script only, by path on this origin
        assert [n.attrs["src"] for n in doc.all() if "src" in n.attrs] == scripts
        assert [(n.attrs["rel"], n.attrs["href"]) for n in doc.tags("link")] == [
            ("stylesheet", ASSETS["page.css"].url)
        ]
        assert 'href="http' not in page
        assert "@import" not in page
        assert "url(" not in page
        hrefs = [n.attrs["href"] or "" for n in doc.all() if "href" in n.attrs and n.tag != "link"]
        assert all(h.startswith(("?lang=", "#")) for h in hrefs)
    for asset in ASSETS.values():  # and they load nothing more
        text = asset.body.decode()
        assert "@import" not in text
        assert "url(" not in text
        assert "http" not in text


def test_dynamic_values_are_escaped() -> None:
    evil = "<script>alert(1)</script>"
    events: list[Event] = [
        (Status.REGISTERED, None, None),
        (Status.IN_TRANSIT, None, Place(depot=evil, city='"><img src=x>')),
    ]
    tracking_id = 'AB</script><script>alert("x")</script><!--'
    page = render(tracking("en", events, tracking_id=tracking_id), lang="en")
    assert evil not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img" not in page
    doc = parse(page)
    assert evil in doc.find(data_testid="timeline-item")[0].content()
    (script,) = doc.find(type="application/json")  # the script's data block
    code = script.content()
    assert "</" not in code
    assert "<!--" not in code
    assert script_json(tracking_id) in code
    assert json.loads(script_json(tracking_id).replace("<\\/", "</")) == tracking_id


def test_script_uses_the_stream_then_polling() -> None:
    doc = parse(render(tracking("ru", CASES["delivered"]), lang="ru"))
    (loader,) = doc.find(src=ASSETS["page.js"].url)
    assert loader.tag == "script"
    code = ASSETS["page.js"].body.decode()
    assert "new EventSource(" in code
    assert '"/events"' in code
    assert '"If-None-Match"' in code
    assert "fetch(" in code
    assert "innerHTML" not in code
    assert "Intl.DateTimeFormat" in code
    config = json.loads(doc.one(id="page-data").content())
    assert config["id"] == "SN123456789MD"
    assert config["lang"] == "ru"
    assert config["pollMs"] == 5000


@pytest.mark.parametrize("lang", LANGUAGES)
def test_not_found_is_localized_and_escaped(lang: str) -> None:
    page = not_found(lang, "<b>nope</b>")
    doc = parse(page)
    (html,) = doc.tags("html")
    assert html.attrs["lang"] == lang
    assert doc.tags("h1")[0].content() == UI[lang]["not_found"]
    assert "<b>" not in page
    assert "&lt;b&gt;nope&lt;/b&gt;" in page
    assert "<script" not in page


def test_unknown_language_falls_back_to_english() -> None:
    page = render(tracking("en", CASES["delivered"]), lang="xx")
    assert '<html lang="en">' in page


@pytest.mark.parametrize("lang", LANGUAGES)
def test_nothing_inline_runs(lang: str) -> None:
    """What lets the Content-Security-Policy refuse inline code: scripts by src only, the
    script's data as JSON, no style element or attribute, no event handler attribute."""
    for page in (render(tracking(lang, CASES["attempted"]), lang=lang), not_found(lang, "X")):
        doc = parse(page)
        for script in doc.tags("script"):
            if "src" in script.attrs:
                assert script.content() == ""
            else:
                assert script.attrs["type"] == "application/json"
        assert not doc.tags("style")
        attributes = {name for n in doc.all() for name in n.attrs}
        assert "style" not in attributes
        assert not [name for name in attributes if name.startswith("on")]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("case", list(CASES))
def test_the_page_shows_the_progress_its_snapshot_carries(lang: str, case: str) -> None:
    """The server computes the stages once; the page renders them as the status JSON and
    each live event carry them (page.js renders the same fields)."""
    t = tracking(lang, CASES[case])
    shown = stages(parse(render(t, lang=lang)))
    assert [(n.attrs["class"], n.find(**{"class": "stage-name"})[0].content()) for n in shown] == [
        (f"stage stage--{s.state}", s.label) for s in t.progress
    ]


@pytest.mark.parametrize(
    ("lang", "updated"),
    [
        ("en", "23 Nov 2026, 14:00 UTC"),
        ("ru", "23 ноя 2026, 14:00 UTC"),
        ("ro", "23 nov 2026, 14:00 UTC"),
    ],
)
def test_times_without_javascript_name_the_month_in_the_page_language(
    lang: str, updated: str
) -> None:
    doc = parse(render(tracking(lang, CASES["delivered"]), lang=lang))
    assert doc.one(id="updated").content() == updated


def test_the_language_switch_names_each_language_in_itself() -> None:
    doc = parse(render(tracking("ru", CASES["delivered"]), lang="ru"))
    names = {code: doc.one(data_testid=f"lang-{code}").content() for code in LANGUAGES}
    assert names == {"en": "English", "ru": "Русский", "ro": "Română"}


def test_the_data_block_gives_the_script_its_words_and_rules() -> None:
    doc = parse(render(tracking("ro", CASES["delivered"]), lang="ro"))
    config = json.loads(doc.one(id="page-data").content())
    assert config["ui"]["live"] == UI["ro"]["live"] == "În timp real"
    assert config["hidden"]["complete"] == UI["ro"]["done"]
    assert config["ends"] == [Status.RETURNED_TO_SENDER.value, Status.CANCELLED.value]


def test_static_files_are_named_by_a_hash_of_their_content() -> None:
    static = Path(status_api.__file__).parent / "static"
    assert sorted(ASSETS) == ["page.css", "page.js", "push-worker.js"]
    for source, asset in ASSETS.items():
        if asset is WORKER:
            continue
        body = (static / source).read_bytes()
        stem, ext = source.split(".")
        assert asset.body == body
        assert asset.name == f"{stem}.{hashlib.sha256(body).hexdigest()[:12]}.{ext}"
        assert asset.url == f"/static/{asset.name}"
        assert BY_NAME[asset.name] is asset
    assert versioned("page.css", b"a{}") != versioned("page.css", b"b{}")


def test_the_service_worker_keeps_its_name() -> None:
    """A browser looks for a new version of a worker at the URL it registered."""
    static = Path(status_api.__file__).parent / "static"
    assert WORKER.name == "push-worker.js"
    assert WORKER.body == (static / "push-worker.js").read_bytes()
    assert BY_NAME["push-worker.js"] is WORKER
    assert WORKER.url == "/static/push-worker.js"


OFFER = PushOffer(key="BKEY", url="https://hooks.example/v1/push-subscriptions")


def test_with_a_vapid_key_the_page_offers_push_notices_in_its_language() -> None:
    doc = parse(render(tracking("ru", CASES["attempted"]), lang="ru", push=OFFER))
    section = doc.one(id="push")
    assert "hidden" in section.attrs  # until the script finds the browser can have them
    button = doc.one(id="push-on")
    assert (button.tag, button.attrs["type"]) == ("button", "button")
    assert button.content() == UI["ru"]["push_subscribe"] == "Уведомлять меня на этом устройстве"
    assert doc.one(id="push-off").content() == UI["ru"]["push_stop"]
    config = json.loads(doc.one(id="page-data").content())
    assert config["push"]["key"] == "BKEY"
    assert config["push"]["url"] == OFFER.url
    assert (config["push"]["worker"], config["push"]["scope"]) == ("/static/push-worker.js", "/t/")
    assert config["push"]["ui"]["push_denied"] == UI["ru"]["push_denied"]
    assert set(config["push"]["ui"]) == {
        "push_on",
        "push_off",
        "push_denied",
        "push_unsupported",
        "push_refused",
    }


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_push_word_is_in_every_language(lang: str) -> None:
    words = [UI[lang][k] for k in UI[lang] if k.startswith("push_")]
    assert len(words) == 8
    assert all(words)
    if lang != "en":
        assert not set(words) & {UI["en"][k] for k in UI["en"] if k.startswith("push_")}


def test_without_a_key_or_once_final_no_push_is_offered() -> None:
    for page in (
        render(tracking("en", CASES["attempted"]), lang="en"),
        render(tracking("en", CASES["delivered"]), lang="en", push=OFFER),
    ):
        doc = parse(page)
        assert doc.find(id="push") == []
        assert "push" not in json.loads(doc.one(id="page-data").content())


ASK = SurveyOffer(url="https://hooks.example/v1/answers/SN123456789MD", scale=spb.SCALE_CSAT)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_once_delivered_the_page_asks_the_question_in_its_language(lang: str) -> None:
    doc = parse(render(tracking(lang, CASES["delivered"]), lang=lang, survey_offer=ASK))
    section = doc.one(id="survey")
    assert "hidden" in section.attrs  # the script shows it: the answer goes by fetch
    assert doc.one(id="survey-h").content() == i18n.text(lang, "question.csat")
    assert [b.content() for b in section.find(**{"class": "score"})] == ["1", "2", "3", "4", "5"]
    assert [n.attrs["value"] for n in doc.find(name="reason")] == [
        "late",
        "not_informed",
        "damaged",
        "courier_manner",
        "missed_delivery",
        "other",
    ]
    assert doc.one(id="survey-comment").attrs["maxlength"] == "500"
    assert "hidden" not in doc.one(id="survey-ask").attrs
    assert "hidden" in doc.one(id="survey-why").attrs  # only after a low score
    config = json.loads(doc.one(id="page-data").content())
    assert config["status"] == "delivered"
    assert config["survey"]["url"] == ASK.url
    assert config["survey"]["answered"] is False
    assert config["survey"]["ui"]["sorry"] == UI[lang]["survey_sorry"]
    assert set(config["survey"]["ui"]) == {"thanks", "sorry", "noted", "failed", "pick"}


def test_each_scale_offers_its_own_scores() -> None:
    for scale, scores in ((spb.SCALE_NPS, range(11)), (spb.SCALE_CES, range(1, 8))):
        offer = SurveyOffer(url=ASK.url, scale=scale)
        doc = parse(render(tracking("ro", CASES["delivered"]), lang="ro", survey_offer=offer))
        assert [b.content() for b in doc.find(**{"class": "score"})] == [str(n) for n in scores]
        name = {spb.SCALE_NPS: "nps", spb.SCALE_CES: "ces"}[scale]
        assert doc.one(id="survey-h").content() == i18n.text("ro", f"question.{name}")


def test_an_answered_page_question_is_thanked_for_not_asked_again() -> None:
    offer = SurveyOffer(url=ASK.url, scale=spb.SCALE_CSAT, answered=True)
    doc = parse(render(tracking("en", CASES["delivered"]), lang="en", survey_offer=offer))
    assert "hidden" in doc.one(id="survey-ask").attrs
    assert doc.one(id="survey-note").content() == UI["en"]["survey_thanks"]


def test_a_shipment_still_on_its_way_carries_the_question_for_when_it_arrives() -> None:
    doc = parse(render(tracking("en", CASES["attempted"]), lang="en", survey_offer=ASK))
    assert "hidden" in doc.one(id="survey").attrs
    assert json.loads(doc.one(id="page-data").content())["status"] == "delivery_attempted"


def test_a_returned_or_cancelled_shipment_is_never_asked() -> None:
    for case in ("returned", "cancelled"):
        doc = parse(render(tracking("en", CASES[case]), lang="en", survey_offer=ASK))
        assert doc.find(id="survey") == []
        assert "survey" not in json.loads(doc.one(id="page-data").content())


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_survey_word_is_in_every_language(lang: str) -> None:
    words = [UI[lang][k] for k in UI[lang] if k.startswith("survey_")]
    assert len(words) == 7
    assert all(words)
    if lang != "en":
        assert not set(words) & {UI["en"][k] for k in UI["en"] if k.startswith("survey_")}
