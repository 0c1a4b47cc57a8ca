"""The courier app's shell, manifest and files, as the server makes them: one version for
the whole folder, changed by any file; a page that runs nothing inline and names only the
app's own files; every word the scripts show present in each language."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from importlib.resources import files
from pathlib import Path

import pytest

from shipnotify.i18n import LANGUAGES
from shipnotify.i18n.labels import FAILURE_LABELS, STATUS_LABELS
from shipnotify.ingest import courier_app, courier_files
from shipnotify.ingest.courier_app import SHELL, config, manifest, render_shell
from shipnotify.web import pages

STATIC = Path(str(files("shipnotify.ingest").joinpath("static")))


def test_one_version_names_every_file_and_changes_with_any_of_them(tmp_path: Path) -> None:
    (tmp_path / "a.js").write_text('import "./b.js";\n')
    (tmp_path / "b.js").write_text("export {};\n")
    (tmp_path / "notes.txt").write_text("not served")
    first = courier_files.load(tmp_path)
    assert re.fullmatch(r"[0-9a-f]{12}", first.version)
    assert first.url("a.js") == f"/courier/static/{first.version}/a.js"
    assert set(first.by_name) == {"a.js", "b.js", courier_files.LISTING}
    assert json.loads(first.by_name[courier_files.LISTING].body) == [
        f"/courier/static/{first.version}/a.js",
        f"/courier/static/{first.version}/b.js",
    ]
    assert courier_files.load(tmp_path).version == first.version  # the same files, the same

    (tmp_path / "b.js").write_text("export {}; \n")
    second = courier_files.load(tmp_path)
    assert second.version != first.version
    assert second.get(first.version, "b.js") is None  # an earlier version's files are gone
    assert second.get(second.version, "b.js") is not None
    (tmp_path / "b.js").rename(tmp_path / "c.js")  # a file renamed is another version too
    assert courier_files.load(tmp_path).version not in (first.version, second.version)


def test_every_file_of_the_app_is_served_with_its_type() -> None:
    served = {n: f.content_type for n, f in SHELL.by_name.items()}
    on_disk = {p.name for p in STATIC.iterdir()}
    assert set(served) == on_disk | {courier_files.LISTING}
    assert {n for n, t in served.items() if t == "text/javascript"} == {
        p.name for p in STATIC.glob("*.js")
    }
    assert served["app.css"] == "text/css"
    assert served["icon-512.png"] == "image/png"
    assert SHELL.by_name["app.js"].charset == "utf-8"
    assert SHELL.by_name["icon-512.png"].charset is None


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.data: dict[str, str] = {}
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        self._in = dict(attrs).get("id") if tag == "script" else None

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in:
            self.data[self._in] = data


def parsed(lang: str) -> Page:
    page = Page()
    page.feed(render_shell(lang))
    return page


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_page_runs_nothing_inline_and_names_only_its_own_files(lang: str) -> None:
    page = parsed(lang)
    scripts = [a for t, a in page.elements if t == "script"]
    assert [a.get("src") for a in scripts if a.get("src")] == [SHELL.url("app.js")]
    assert [a.get("type") for a in scripts if not a.get("src")] == ["application/json"]
    assert all(a.get("type") == "module" for a in scripts if a.get("src"))
    assert [t for t, _ in page.elements if t == "style"] == []
    for tag, attrs in page.elements:
        assert "style" not in attrs, tag
        assert not [k for k in attrs if k.startswith("on")], (tag, attrs)
        for name in ("src", "href"):
            url = attrs.get(name)
            if url and not url.startswith("?"):
                assert url.startswith("/courier/"), url
    assert json.loads(page.data["config"]) == config(lang)
    assert ("html", {"lang": lang}) in page.elements


def test_the_data_block_cannot_end_its_script_element() -> None:
    value = {"word": "</script><script>alert(1)</script><!--"}
    text = pages.script_json(value)
    assert "</" not in text
    assert "<!--" not in text
    assert json.loads(text) == value


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_page_speaks_its_language(lang: str) -> None:
    html = render_shell(lang)
    for failure, label in FAILURE_LABELS[lang].items():  # the failed attempt's six reasons
        assert f'value="{failure.value}"' in html
        assert label in html
    words = config(lang)
    assert words["statuses"] == {s.value: t for s, t in STATUS_LABELS[lang].items()}
    if lang != "en":
        english = config("en")["words"]
        assert [k for k, v in words["words"].items() if v == english[k]] == []


def test_every_word_a_script_names_is_in_the_data_block() -> None:
    named: set[str] = set()
    for script in STATIC.glob("*.js"):
        text = script.read_text()
        named |= set(re.findall(r'\bsay\("([\w.]+)"', text))
        named |= set(re.findall(r"config\.words\.(\w+)", text))
        for prefix in re.findall(r"config\.words\[`([\w.]+)\$\{", text):
            named |= {prefix + state for state in ("queued", "sent", "refused")}
    assert named, "no word found: the patterns no longer match the scripts"
    assert named <= set(config("en")["words"]), named - set(config("en")["words"])


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_manifest_makes_the_app_installable(lang: str) -> None:
    m = manifest(lang)
    assert (m["start_url"], m["scope"], m["id"], m["display"]) == (
        "/courier/",
        "/courier/",
        "/courier/",
        "standalone",
    )
    assert m["name"]
    assert 0 < len(m["short_name"]) <= 12  # what a home screen shows under the icon
    assert re.fullmatch(r"#[0-9a-f]{6}", m["theme_color"])
    icons = {(i["sizes"], i.get("purpose", "any")) for i in m["icons"]}
    assert icons == {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")}
    for icon in m["icons"]:
        name = icon["src"].rsplit("/", 1)[1]
        assert icon["src"] == SHELL.url(name)
        assert icon["type"] == "image/png"


def test_the_worker_and_the_page_agree_on_the_version_header() -> None:
    worker = (STATIC / "sw.js").read_text()
    assert f'const VERSION_HEADER = "{courier_app.VERSION_HEADER}";' in worker
