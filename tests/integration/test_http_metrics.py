"""Every HTTP service counts and times its requests by route template, method and status
class, and shows them at /metrics."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from shipnotify.config import Settings

from .conftest import Api, api_key, registration, unique

SERIES = "shipnotify_http_request_duration_seconds"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def _scrape(api: Api) -> Samples:
    resp = await api.get("/metrics")
    assert resp.status == 200
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(await resp.text())
        for s in family.samples
        if s.name.startswith(SERIES)
    }


def _count(samples: Samples, route: str, method: str, status: str) -> float:
    labels = frozenset({"route": route, "method": method, "status": status}.items())
    return samples.get((SERIES + "_count", labels), 0.0)


async def test_requests_are_counted_and_timed_by_route_template_method_and_status_class(
    api: Api, settings: Settings
) -> None:
    sid = unique("m")
    before = await _scrape(api)  # the process's registry: other tests' requests are in it
    for tracking_id in ("aaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbb"):
        assert (await api.get(f"/v1/track/{tracking_id}")).status == 404
    assert (await api.get("/healthz")).status == 200
    resp = await api.post("/v1/shipments", json=registration(sid), headers=api_key(settings))
    assert resp.status == 202
    resp = await api.post("/v1/shipments", data=b"{", headers=api_key(settings))
    assert resp.status == 400
    assert (await api.get("/no/such/page/1")).status == 404
    assert (await api.get("/no/such/page/2")).status == 404
    assert (await api.request("PROPFIND", "/healthz")).status == 405
    after = await _scrape(api)

    def more(route: str, method: str, status: str) -> float:
        return _count(after, route, method, status) - _count(before, route, method, status)

    assert more("/v1/track/{tracking_id}", "GET", "4xx") == 2  # the template, not the path
    assert more("/healthz", "GET", "2xx") == 1
    assert more("/v1/shipments", "POST", "2xx") == 1
    assert more("/v1/shipments", "POST", "4xx") == 1
    assert more("unmatched", "GET", "4xx") == 2  # any path: one series
    assert more("unmatched", "other", "4xx") == 1  # any method: one series
    assert more("/metrics", "GET", "2xx") == 1  # the first scrape
    routes = {dict(labels)["route"] for _, labels in after}
    assert not any(r.startswith(("/no/", "/v1/track/a", "/v1/track/b")) for r in routes)

    # the histogram: a bucket per bound, the last of them the count
    labels = frozenset({"route": "/v1/shipments", "method": "POST", "status": "2xx"}.items())
    buckets = {
        float(dict(ls)["le"]): v
        for (name, ls), v in after.items()
        if name == SERIES + "_bucket" and ls - {("le", dict(ls)["le"])} == labels
    }
    assert len(buckets) == 14
    assert buckets[float("inf")] == after[(SERIES + "_count", labels)]
    assert list(buckets.values()) == sorted(buckets.values())  # cumulative
    assert after[(SERIES + "_sum", labels)] > 0
