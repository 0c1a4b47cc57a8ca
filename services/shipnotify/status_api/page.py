# ruff: noqa: RUF001
# (the UI strings in Russian are Cyrillic on purpose)
"""The public tracking page: one self-contained HTML document per shipment.

The first render is complete without JavaScript (times in UTC); the inline script then shows
times in the viewer's zone and keeps the page current from the events stream, or by polling
the JSON API when the stream is not available.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from html import escape
from typing import TYPE_CHECKING

from shipnotify.i18n.labels import DEFAULT, LANGUAGES, STATUS_LABELS
from shipnotify.model.status import Status

if TYPE_CHECKING:
    from shipnotify.status_api.app import Place, TimelineItem, Tracking

# The page's own strings; status and failure labels come with the data.
UI: dict[str, dict[str, str]] = {
    "en": {
        "title": "Shipment tracking",
        "tracking_number": "Tracking number",
        "status": "Current status",
        "failure": "Last attempt",
        "progress": "Progress",
        "timeline": "Timeline",
        "last_update": "Last update",
        "empty": "No events yet.",
        "language": "Language",
        "skip": "Skip to content",
        "live": "Live",
        "connecting": "Connecting…",
        "reconnecting": "Reconnecting…",
        "done": "completed",
        "current": "current step",
        "todo": "not reached yet",
        "attempted": "Attempt failed",
        "ended": "final status",
        "utc_note": "Times are shown in UTC.",
        "local_note": "Times are shown in your local time.",
        "not_found": "Shipment not found",
        "not_found_text": "No shipment has this tracking number:",
        "months": "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec",
    },
    "ru": {
        "title": "Отслеживание отправления",
        "tracking_number": "Номер отслеживания",
        "status": "Текущий статус",
        "failure": "Последняя попытка",
        "progress": "Ход доставки",
        "timeline": "История",
        "last_update": "Последнее обновление",
        "empty": "Событий пока нет.",
        "language": "Язык",
        "skip": "Перейти к содержанию",
        "live": "В реальном времени",
        "connecting": "Подключение…",
        "reconnecting": "Переподключение…",
        "done": "пройдено",
        "current": "текущий этап",
        "todo": "ещё не пройдено",
        "attempted": "Попытка не удалась",
        "ended": "итоговый статус",
        "utc_note": "Время указано в UTC.",
        "local_note": "Время указано по вашему местному времени.",
        "not_found": "Отправление не найдено",
        "not_found_text": "Нет отправления с таким номером отслеживания:",
        "months": "янв фев мар апр мая июн июл авг сен окт ноя дек",
    },
    "ro": {
        "title": "Urmărirea coletului",
        "tracking_number": "Număr de urmărire",
        "status": "Starea actuală",
        "failure": "Ultima încercare",
        "progress": "Progres",
        "timeline": "Istoric",
        "last_update": "Ultima actualizare",
        "empty": "Încă nu există evenimente.",
        "language": "Limba",
        "skip": "Salt la conținut",
        "live": "În timp real",
        "connecting": "Se conectează…",
        "reconnecting": "Se reconectează…",
        "done": "finalizat",
        "current": "etapa curentă",
        "todo": "încă neatinsă",
        "attempted": "Încercare eșuată",
        "ended": "stare finală",
        "utc_note": "Orele sunt afișate în UTC.",
        "local_note": "Orele sunt afișate în ora dvs. locală.",
        "not_found": "Coletul nu a fost găsit",
        "not_found_text": "Nu există niciun colet cu acest număr de urmărire:",
        "months": "ian feb mar apr mai iun iul aug sept oct nov dec",
    },
}
LANGUAGE_NAMES = {"en": "English", "ru": "Русский", "ro": "Română"}

STAGES = (
    Status.REGISTERED,
    Status.CONFIRMED,
    Status.PICKED_UP,
    Status.IN_TRANSIT,
    Status.OUT_FOR_DELIVERY,
    Status.DELIVERED,
)
# The stage each status stands at; the end states stand outside the progress.
STAGE_OF: dict[str, int] = {
    **{s.value: i for i, s in enumerate(STAGES)},
    Status.AWAITING_PICKUP.value: 1,
    Status.DELIVERY_ATTEMPTED.value: 4,
    Status.READY_FOR_COLLECTION.value: 4,
}
ENDS = (Status.RETURNED_TO_SENDER.value, Status.CANCELLED.value)
# The state of the current stage (default "current") and statuses that rename their stage.
STATES = {
    Status.DELIVERY_ATTEMPTED.value: "attempted",
    Status.READY_FOR_COLLECTION.value: "collect",
    Status.DELIVERED.value: "complete",
}
RENAME = (Status.AWAITING_PICKUP.value, Status.READY_FOR_COLLECTION.value)
STEP_STATES = ("current", "attempted", "collect", "complete", "ended")  # aria-current="step"
HIDDEN = {  # state -> key of the visually hidden text
    "done": "done",
    "complete": "done",
    "todo": "todo",
    "ended": "ended",
    "current": "current",
    "attempted": "current",
    "collect": "current",
}
# The class of the status headline.
KINDS = {
    Status.DELIVERED.value: "delivered",
    Status.DELIVERY_ATTEMPTED.value: "attempted",
    Status.READY_FOR_COLLECTION.value: "collect",
    **{s: "ended" for s in ENDS},
}
SCRIPT_UI = ("title", "status", "attempted", "live", "connecting", "reconnecting", "local_note")
POLL_MS = 5000
MAX_ERRORS = 3  # stream errors without a message before falling back to polling

CSS = """\
:root{--fg:#1b1b1f;--muted:#4a4a55;--bg:#f6f7f9;--card:#fff;--line:#c4c8d0;--accent:#0a58a8;\
--ok:#176b34;--warn:#8a4600;--warn-bg:#fff4e0;--end:#5a2d82;--end-bg:#f3ecfa;\
font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;line-height:1.5;\
color:var(--fg);background:var(--bg)}
*{box-sizing:border-box}
body{margin:0 auto;max-width:46rem;padding:0 1rem 2rem}
a{color:var(--accent)}
:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
.vh{position:absolute!important;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;\
clip:rect(0 0 0 0);white-space:nowrap;border:0}
.skip{position:absolute;left:-999rem}
.skip:focus{left:1rem;top:1rem;padding:.5rem;background:var(--card)}
header{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1rem;padding:.75rem 0;\
border-bottom:1px solid var(--line)}
.brand{margin:0;font-weight:600;flex:1 1 auto}
.langs ul{display:flex;gap:.25rem;margin:0;padding:0;list-style:none}
.langs a{display:inline-block;min-width:44px;padding:.6rem .5rem;border-radius:4px;\
text-align:center;text-decoration:none}
.langs a[aria-current]{background:var(--accent);color:#fff;font-weight:600}
.live{display:flex;align-items:center;gap:.4rem;margin:0;font-size:.875rem;color:var(--muted)}
.live::before{content:"";width:.6rem;height:.6rem;border-radius:50%;background:var(--muted)}
.live--on::before{background:var(--ok);animation:pulse 2s ease-in-out infinite}
.live--off::before{background:var(--warn)}
@keyframes pulse{50%{opacity:.3}}
.tn{margin:1.5rem 0 0;color:var(--muted)}
.tn strong{color:var(--fg);font-family:ui-monospace,monospace;word-break:break-all}
h1{margin:.25rem 0 .5rem;font-size:clamp(1.75rem,7vw,2.5rem);line-height:1.2}
h2{font-size:1.25rem}
.status--delivered{color:var(--ok)}
.status--attempted{color:var(--warn)}
.status--collect{color:var(--accent)}
.status--ended{color:var(--end)}
.failure{margin:0 0 .75rem;padding:.5rem .75rem;border-left:4px solid var(--warn);\
background:var(--warn-bg);color:var(--warn)}
.updated{margin:0 0 1.5rem;color:var(--muted)}
.progress{display:grid;gap:.35rem;margin:0 0 2rem;padding:0;list-style:none}
.stage{display:flex;align-items:center;gap:.6rem;color:var(--muted)}
.stage::before{content:"";flex:none;width:1rem;height:1rem;border:2px solid var(--line);\
border-radius:50%;background:var(--card)}
.stage--done,.stage[aria-current]{color:var(--fg)}
.stage[aria-current]{font-weight:700}
.stage--done::before,.stage--complete::before{border-color:var(--ok);background:var(--ok)}
.stage--current::before,.stage--collect::before{border-color:var(--accent);background:var(--accent)}
.stage--attempted::before{border-color:var(--warn);background:var(--warn)}
.stage--ended{padding:.25rem .5rem;border-radius:4px;background:var(--end-bg);color:var(--end)}
.stage--ended::before{border-color:var(--end);background:var(--end)}
.stage-note{padding:0 .4rem;border-radius:3px;background:var(--warn-bg);color:var(--warn);\
font-size:.8rem}
@media (min-width:40rem){
.progress{grid-auto-flow:column;grid-auto-columns:1fr;gap:0}
.stage{flex-direction:column;gap:.3rem;padding:.5rem .25rem 0;border-top:4px solid var(--line);\
text-align:center;font-size:.85rem}
.stage--done,.stage--complete{border-top-color:var(--ok)}
.stage--current,.stage--collect{border-top-color:var(--accent)}
.stage--attempted{border-top-color:var(--warn)}
.stage--ended{border-top-color:var(--end);border-radius:0}}
.timeline{margin:0;padding:0 0 0 .25rem;list-style:none;border-left:2px solid var(--line)}
.item{position:relative;margin:0 0 1rem;padding-left:1rem}
.item::before{content:"";position:absolute;left:-.5rem;top:.4rem;width:.75rem;height:.75rem;\
border-radius:50%;background:var(--line)}
.item:first-child::before{background:var(--accent)}
.item--failed::before{background:var(--warn)}
.item--ended::before{background:var(--end)}
.item p{margin:0}
.item-label{font-weight:600}
.item-failure{color:var(--warn)}
.item-place,.item time{display:block;color:var(--muted);font-size:.9rem}
footer{margin-top:2rem;padding-top:1rem;border-top:1px solid var(--line);color:var(--muted);\
font-size:.875rem}
@media (prefers-reduced-motion:reduce){*,*::before{animation:none!important;\
transition:none!important}}
"""

# The inline script; __CONFIG__ is replaced with a JSON object safe inside <script>.
SCRIPT = """\
(() => {
"use strict";
const C = __CONFIG__;
const $ = (id) => document.getElementById(id);
const el = (tag, cls, text) => {
  const n = document.createElement(tag);
  if (cls) n.className = cls;
  if (text != null) n.textContent = text;
  return n;
};
let fmt = null;
try {
  fmt = new Intl.DateTimeFormat(C.lang, {day: "numeric", month: "short", year: "numeric",
    hour: "2-digit", minute: "2-digit", timeZoneName: "short"});
} catch (e) { fmt = null; }
const local = (t) => {
  const d = new Date(t.dateTime);
  if (!fmt || isNaN(d)) return;
  if (!t.title) t.title = t.textContent;
  t.textContent = fmt.format(d);
};
const time = (iso) => { const t = el("time", null, iso); t.dateTime = iso; local(t); return t; };
const ms = (iso) => Date.parse(iso) || 0;
const newestFirst = (items) => [...items].sort(
  (a, b) => ms(b.occurred_at) - ms(a.occurred_at) || ms(b.recorded_at) - ms(a.recorded_at));
const has = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
const stages = (t) => {
  if (C.ends.includes(t.status)) {
    let reached = -1;
    for (const i of t.timeline) {
      if (i.advanced && has(C.stageOf, i.status)) reached = Math.max(reached, C.stageOf[i.status]);
    }
    return C.stages.slice(0, reached + 1).map((s) => [C.labels[s], "done"])
      .concat([[t.label, "ended"]]);
  }
  const cur = has(C.stageOf, t.status) ? C.stageOf[t.status] : 0;
  const state = has(C.states, t.status) ? C.states[t.status] : "current";
  return C.stages.map((s, i) => [
    i === cur && C.rename.includes(t.status) ? t.label : C.labels[s],
    i < cur ? "done" : i === cur ? state : "todo"]);
};
const stage = ([name, state]) => {
  const li = el("li", "stage stage--" + state);
  if (C.stepStates.includes(state)) li.setAttribute("aria-current", "step");
  li.append(el("span", "stage-name", name));
  if (state === "attempted") li.append(el("span", "stage-note", C.ui.attempted));
  li.append(el("span", "vh", " (" + C.hidden[state] + ")"));
  return li;
};
const place = (p) => p ? [p.depot, p.city, p.country_code].filter(Boolean).join(", ") : "";
const item = (i) => {
  let cls = "item";
  if (i.failure_label) cls += " item--failed";
  if (C.ends.includes(i.status)) cls += " item--ended";
  const li = el("li", cls);
  li.dataset.testid = "timeline-item";
  li.dataset.status = i.status;
  li.append(el("p", "item-label", i.label));
  if (i.failure_label) li.append(el("p", "item-failure", i.failure_label));
  const where = place(i.location);
  if (where) li.append(el("p", "item-place", where));
  li.append(time(i.occurred_at));
  return li;
};
let shown = $("status").textContent;
const apply = (t) => {
  const items = newestFirst(t.timeline || []);
  const s = $("status");
  s.textContent = t.label;
  s.className = "status status--" + (has(C.kinds, t.status) ? C.kinds[t.status] : "active");
  const mine = items.find((i) => i.status === t.status);
  const failure = mine && mine.failure_label ? mine.failure_label : "";
  $("failure-text").textContent = failure;
  $("failure").hidden = !failure;
  $("progress").replaceChildren(...stages(t).map(stage));
  $("timeline").replaceChildren(...items.map(item));
  $("empty").hidden = items.length > 0;
  let last = t.status_at;
  for (const i of items) if (ms(i.occurred_at) > ms(last)) last = i.occurred_at;
  const u = $("updated");
  u.dateTime = last;
  u.title = "";
  u.textContent = last;
  local(u);
  document.title = t.label + " · " + C.ui.title;
  if (t.label !== shown) {
    shown = t.label;
    $("announce").textContent = C.ui.status + ": " + t.label;
  }
};
const live = $("live");
const setLive = (state) => {
  live.hidden = false;
  live.className = "live live--" + state;
  const text = C.ui[state === "on" ? "live" : state === "off" ? "reconnecting" : "connecting"];
  if ($("live-text").textContent !== text) $("live-text").textContent = text;
};
document.querySelectorAll("time[datetime]").forEach(local);
if (fmt) $("tz-note").textContent = C.ui.local_note;
setLive("wait");
const q = "?lang=" + encodeURIComponent(C.lang);
const base = "/v1/track/" + encodeURIComponent(C.id);
let etag = null;
let polling = false;
const poll = async () => {
  if (!document.hidden) {
    try {
      const r = await fetch(base + q, {headers: etag ? {"If-None-Match": etag} : {},
        cache: "no-store"});
      if (r.status === 200) {
        etag = r.headers.get("ETag");
        apply(await r.json());
        setLive("on");
      } else {
        setLive(r.status === 304 ? "on" : "off");
      }
    } catch (e) {
      setLive("off");
    }
  }
  setTimeout(poll, C.pollMs);
};
const startPolling = () => { if (!polling) { polling = true; poll(); } };
if (!("EventSource" in window)) {
  startPolling();
} else {
  let errors = 0;
  const es = new EventSource(base + "/events" + q);
  es.addEventListener("open", () => setLive("on"));
  es.addEventListener("update", (e) => {
    errors = 0;
    setLive("on");
    try { apply(JSON.parse(e.data)); } catch (err) { /* a malformed event changes nothing */ }
  });
  es.addEventListener("error", () => {
    errors += 1;
    setLive("off");
    if (es.readyState === EventSource.CLOSED || errors >= C.maxErrors) {
      es.close();
      startPolling();
    }
  });
}
})();
"""


def render(tracking: Tracking, *, lang: str) -> str:
    """The tracking page of a shipment, in `lang` (one of LANGUAGES; others fall back)."""
    lang = _lang(lang)
    ui = UI[lang]
    items = _newest_first(tracking.timeline)
    mine = next((i for i in items if i.status == tracking.status), None)
    failure = mine.failure_label if mine and mine.failure_label else ""
    last = max([tracking.status_at, *(i.occurred_at for i in items)], key=_utc)
    kind = KINDS.get(tracking.status, "active")
    stages = "".join(_stage(n, s, ui) for n, s in _stages(tracking, lang))
    timeline = "".join(_item(i, lang) for i in items)
    main = (
        f'<p class="tn">{_e(ui["tracking_number"])}: '
        f'<strong translate="no">{_e(tracking.tracking_id)}</strong></p>\n'
        f'<h1><span class="vh">{_e(ui["status"])}: </span>'
        f'<span id="status" class="status status--{kind}" data-testid="status">'
        f"{_e(tracking.label)}</span></h1>\n"
        f'<p id="failure" class="failure"{"" if failure else " hidden"}>'
        f'<span class="vh">{_e(ui["failure"])}: </span>'
        f'<span id="failure-text">{_e(failure)}</span></p>\n'
        f'<p class="updated">{_e(ui["last_update"])}: {_time(last, lang, "updated")}</p>\n'
        f'<section aria-labelledby="progress-h">\n<h2 id="progress-h" class="vh">'
        f'{_e(ui["progress"])}</h2>\n<ol id="progress" class="progress">{stages}</ol>\n'
        f"</section>\n"
        f'<section aria-labelledby="timeline-h">\n<h2 id="timeline-h">{_e(ui["timeline"])}</h2>\n'
        f'<ol id="timeline" class="timeline" data-testid="timeline">{timeline}</ol>\n'
        f'<p id="empty"{" hidden" if items else ""}>{_e(ui["empty"])}</p>\n</section>'
    )
    config = {
        "id": tracking.tracking_id,
        "lang": lang,
        "ui": {k: ui[k] for k in SCRIPT_UI},
        "labels": {s.value: label for s, label in STATUS_LABELS[lang].items()},
        "stages": [s.value for s in STAGES],
        "stageOf": STAGE_OF,
        "states": STATES,
        "rename": RENAME,
        "ends": ENDS,
        "kinds": KINDS,
        "stepStates": STEP_STATES,
        "hidden": {state: ui[key] for state, key in HIDDEN.items()},
        "pollMs": POLL_MS,
        "maxErrors": MAX_ERRORS,
    }
    script = SCRIPT.replace("__CONFIG__", script_json(config))
    live = (
        '<p id="live" class="live" data-testid="live" aria-live="polite" hidden>'
        '<span id="live-text"></span><span id="announce" class="vh"></span></p>'
    )
    return _document(lang, f"{tracking.label} · {ui['title']}", main, live=live, script=script)


def not_found(lang: str, tracking_id: str) -> str:
    """The page for a tracking number no shipment has (to be sent with status 404)."""
    lang = _lang(lang)
    ui = UI[lang]
    main = (
        f"<h1>{_e(ui['not_found'])}</h1>\n<p>{_e(ui['not_found_text'])} "
        f'<strong translate="no">{_e(tracking_id[:64])}</strong></p>'
    )
    return _document(lang, f"{ui['not_found']} · {ui['title']}", main)


def script_json(value: object) -> str:
    """JSON for inside an inline <script>: no "</" nor "<!--" can end or derail the element."""
    return json.dumps(value).replace("</", "<\\/").replace("<!--", "<\\u0021--")


def _document(lang: str, title: str, main: str, *, live: str = "", script: str = "") -> str:
    ui = UI[lang]
    links = "".join(
        f'<li><a href="?lang={code}" hreflang="{code}" lang="{code}" data-testid="lang-{code}"'
        + (' aria-current="true"' if code == lang else "")
        + f">{_e(LANGUAGE_NAMES[code])}</a></li>"
        for code in LANGUAGES
    )
    return (
        f'<!doctype html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="referrer" content="no-referrer">\n'
        f"<title>{_e(title)}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n"
        f'<a class="skip" href="#main">{_e(ui["skip"])}</a>\n'
        f'<header>\n<p class="brand">{_e(ui["title"])}</p>\n{live}\n'
        f'<nav class="langs" aria-label="{_e(ui["language"])}"><ul>{links}</ul></nav>\n'
        f'</header>\n<main id="main" tabindex="-1">\n{main}\n</main>\n'
        f'<footer>\n<p id="tz-note">{_e(ui["utc_note"])}</p>\n</footer>\n'
        + (f"<script>\n{script}</script>\n" if script else "")
        + "</body>\n</html>\n"
    )


def _stages(tracking: Tracking, lang: str) -> list[tuple[str, str]]:
    """(name, state) of each stage shown; the same rule as stages() in the script."""
    labels = {s.value: label for s, label in STATUS_LABELS[lang].items()}
    status = tracking.status
    if status in ENDS:
        reached = max(
            (STAGE_OF[i.status] for i in tracking.timeline if i.advanced and i.status in STAGE_OF),
            default=-1,
        )
        return [(labels[s], "done") for s in STAGES[: reached + 1]] + [(tracking.label, "ended")]
    cur = STAGE_OF.get(status, 0)
    state = STATES.get(status, "current")
    return [
        (
            tracking.label if i == cur and status in RENAME else labels[s],
            "done" if i < cur else state if i == cur else "todo",
        )
        for i, s in enumerate(STAGES)
    ]


def _stage(name: str, state: str, ui: dict[str, str]) -> str:
    current = ' aria-current="step"' if state in STEP_STATES else ""
    note = f'<span class="stage-note">{_e(ui["attempted"])}</span>' if state == "attempted" else ""
    return (
        f'<li class="stage stage--{state}"{current}><span class="stage-name">{_e(name)}</span>'
        f'{note}<span class="vh"> ({_e(ui[HIDDEN[state]])})</span></li>'
    )


def _item(i: TimelineItem, lang: str) -> str:
    cls = "item" + (" item--failed" if i.failure_label else "")
    cls += " item--ended" if i.status in ENDS else ""
    failure = f'<p class="item-failure">{_e(i.failure_label)}</p>' if i.failure_label else ""
    where = _place(i.location)
    place = f'<p class="item-place">{_e(where)}</p>' if where else ""
    return (
        f'<li class="{cls}" data-testid="timeline-item" data-status="{_e(i.status)}">'
        f'<p class="item-label">{_e(i.label)}</p>{failure}{place}{_time(i.occurred_at, lang)}</li>'
    )


def _place(p: Place | None) -> str:
    return ", ".join(v for v in (p.depot, p.city, p.country_code) if v) if p else ""


def _time(dt: datetime, lang: str, id_: str = "") -> str:
    t = _utc(dt)
    month = UI[lang]["months"].split()[t.month - 1]
    iso = t.isoformat().replace("+00:00", "Z")
    attr = f' id="{id_}"' if id_ else ""
    return f'<time{attr} datetime="{iso}">{t.day} {_e(month)} {t.year}, {t:%H:%M} UTC</time>'


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _newest_first(items: Iterable[TimelineItem]) -> list[TimelineItem]:
    return sorted(items, key=lambda i: (_utc(i.occurred_at), _utc(i.recorded_at)), reverse=True)


def _lang(lang: str) -> str:
    return lang if lang in LANGUAGES else DEFAULT


def _e(value: str) -> str:
    return escape(value, quote=True)
