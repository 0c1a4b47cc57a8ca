"""What every HTTP service shares: JSON errors, body parsing, health, the OpenAPI document,
metrics and spans of every request.

Each service declares its routes as a table of `Route`s; the same table registers
the handlers and writes the OpenAPI document, so the two cannot drift apart.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.typedefs import Middleware
from opentelemetry import trace
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.json_schema import models_json_schema

from shipnotify import logs, metrics, tracing
from shipnotify.web import proxies

log = logs.get(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Check = Callable[[], Awaitable[bool]]
M = TypeVar("M", bound=BaseModel)

ROUTES = web.AppKey("routes", list["Route"])
CHECKS = web.AppKey("checks", dict[str, Check])


class ErrorBody(BaseModel):
    error: str
    message: str
    fields: dict[str, str] = {}


class Health(BaseModel):
    status: str
    checks: dict[str, bool] = {}


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        fields: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message
        self.fields, self.headers = fields or {}, headers or {}


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    summary: str
    responses: dict[int, tuple[str, type[BaseModel] | None]]
    body: type[BaseModel] | None = None
    security: str | None = None  # a name under components.securitySchemes
    parameters: list[dict[str, Any]] = field(default_factory=list)
    tag: str = ""
    # The type of a path parameter the handler checks (documented by its JSON Schema);
    # any other is a plain string.
    path_types: dict[str, Any] = field(default_factory=dict)


async def parse_form(request: web.Request) -> dict[str, str]:
    """A form's text fields (a file field is no text: left out); 400 for a body that is no
    form (multipart without its boundary, say), not a 500."""
    try:
        return {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    except ValueError as e:
        raise ApiError(400, "invalid_body", "the body is not a form", {"body": str(e)}) from None


def json_response(
    model: BaseModel, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=model.model_dump_json(exclude_none=True),
        status=status,
        headers=headers,
        content_type="application/json",
    )


def error_response(err: ApiError) -> web.Response:
    body = ErrorBody(error=err.error, message=err.message, fields=err.fields)
    return json_response(body, err.status, err.headers)


async def parse_body(
    request: web.Request, model: type[M], context: dict[str, Any] | None = None
) -> M:
    raw = await request.read()  # over client_max_size: HTTPRequestEntityTooLarge -> 413
    try:
        return model.model_validate_json(raw, context=context)
    except ValidationError as e:
        raise validation_error(e) from None


def validation_error(e: ValidationError, prefix: str = "") -> ApiError:
    fields: dict[str, str] = {}
    for err in e.errors(include_url=False):
        if err["type"] == "json_invalid":
            return ApiError(400, "invalid_json", "the body is not valid JSON", {"body": err["msg"]})
        name = prefix + ".".join(str(p) for p in err["loc"]) or "body"
        fields.setdefault(name, err["msg"])
    return ApiError(422, "invalid_field", "; ".join(f"{k}: {v}" for k, v in fields.items()), fields)


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error leaves as JSON; no stack trace reaches a client."""
    try:
        return await handler(request)
    except ApiError as e:
        return error_response(e)
    except web.HTTPException as e:
        if e.status < 400:
            raise
        field = {413: "body", 405: "method", 404: "path"}.get(e.status, "request")
        headers = {k: v for k, v in e.headers.items() if k in ("Allow", "Retry-After")}
        return error_response(
            ApiError(
                e.status,
                e.reason.lower().replace(" ", "_"),
                e.text or e.reason,
                {field: e.reason},
                headers,
            )
        )
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("unhandled error", path=request.path, client=request.remote)
        return error_response(ApiError(500, "internal", "internal error; it has been logged"))


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_READS = frozenset({"GET", "HEAD", "OPTIONS"})


def observed(tracer: trace.Tracer) -> Middleware:
    """A middleware: each request's duration by its route's template, method and status class,
    and its span, continuing the caller's `traceparent` (a courier app's, an order system's).

    When the tracer records nothing, only writes get a span: its one use is then the trace id
    it gives their log lines and the records they append (a tap's), and a span costs a GET
    about a fifth of a 304's time.
    """
    every = tracing.records(tracer)

    @web.middleware
    async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        method = request.method if request.method in _METHODS else "other"  # a bounded label
        start = time.perf_counter()
        if not every and method in _READS:
            return await _measured(request, handler, route, method, start, None)
        with tracer.start_as_current_span(
            f"{method} {route}",
            tracing.PROPAGATOR.extract(request.headers),
            kind=trace.SpanKind.SERVER,
            attributes={"http.request.method": method, "http.route": route},
            set_status_on_exception=False,
        ) as span:
            return await _measured(request, handler, route, method, start, span)

    return observe


async def _measured(
    request: web.Request,
    handler: Handler,
    route: str,
    method: str,
    start: float,
    span: trace.Span | None,
) -> web.StreamResponse:
    status = 500  # unless the handler answers: `errors` turns every exception into a response
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as e:  # a redirect, raised past `errors`
        status = e.status
        raise
    finally:
        seconds = time.perf_counter() - start
        metrics.HTTP_REQUESTS.labels(route, method, f"{status // 100}xx").observe(seconds)
        if span is not None:
            span.set_attribute("http.response.status_code", status)
            if status >= 500:
                span.set_status(trace.StatusCode.ERROR)


def new_app(
    max_body_bytes: int,
    *,
    trusted_proxies: Sequence[str] = (),
    tracer: trace.Tracer | None = None,
) -> web.Application:
    """An app with the shared middleware and routes. Behind `trusted_proxies` (CIDRs), the
    client's address comes from their forwarding headers (see proxies.py); `tracer` makes its
    spans (default: the process's)."""
    forwarded = proxies.middleware(trusted_proxies)
    middlewares = [observed(tracer or tracing.tracer()), errors]
    app = web.Application(
        middlewares=[forwarded, *middlewares] if forwarded else middlewares,
        client_max_size=max_body_bytes,
    )
    app[ROUTES] = []
    app[CHECKS] = {}
    add_routes(app, _COMMON)
    return app


def add_routes(app: web.Application, routes: Sequence[Route]) -> None:
    for route in routes:
        if route.method == "GET":  # and HEAD, which answers the same without the body
            app.router.add_get(route.path, route.handler)
        else:
            app.router.add_route(route.method, route.path, route.handler)
    app[ROUTES].extend(routes)


async def healthz(request: web.Request) -> web.Response:
    return json_response(Health(status="ok"))


async def readyz(request: web.Request) -> web.Response:
    checks: dict[str, Check] = request.app[CHECKS]
    names = list(checks)
    results = await asyncio.gather(*(checks[n]() for n in names))
    ok = all(results)
    health = Health(
        status="ok" if ok else "unavailable", checks=dict(zip(names, results, strict=True))
    )
    return json_response(health, 200 if ok else 503)


async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(openapi_of(request.app))


def openapi_of(app: web.Application) -> dict[str, Any]:
    routes: list[Route] = app[ROUTES]
    return openapi(routes)


_COMMON = [
    Route(
        "GET",
        "/healthz",
        healthz,
        "Liveness: the process serves HTTP",
        {200: ("alive", Health)},
        tag="operations",
    ),
    Route(
        "GET",
        "/readyz",
        readyz,
        "Readiness: what this service needs to serve answers (each check by name)",
        {200: ("ready", Health), 503: ("a dependency does not answer", Health)},
        tag="operations",
    ),
    Route(
        "GET",
        "/metrics",
        metrics.metrics,
        "Prometheus metrics of this process",
        {200: ("the Prometheus text format", None)},
        tag="operations",
    ),
    Route(
        "GET",
        "/openapi.json",
        openapi_json,
        "This document",
        {200: ("OpenAPI 3.1 document", None)},
        tag="operations",
    ),
]

SECURITY_SCHEMES = {
    "apiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Api-Key",
        "description": "The order system's key (SHIPNOTIFY_API_KEYS).",
    },
    "courierToken": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A signed, expiring courier token: `shipnotify token courier ID`.",
    },
}


def openapi(routes: Sequence[Route]) -> dict[str, Any]:
    models: set[type[BaseModel]] = {ErrorBody}
    for r in routes:
        models.update(m for _, m in r.responses.values() if m)
        if r.body:
            models.add(r.body)
    _, defs = models_json_schema(
        [(m, "validation") for m in sorted(models, key=lambda m: m.__name__)],
        ref_template="#/components/schemas/{model}",
    )
    paths: dict[str, dict[str, Any]] = {}
    for r in routes:
        paths.setdefault(r.path, {})[r.method.lower()] = _operation(r)
        if r.method == "GET":
            paths[r.path]["head"] = _head(_operation(r))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "shipnotify",
            "version": "1",
            "description": "Courier status events in; tracking state out.",
        },
        "paths": paths,
        "components": {"schemas": defs.get("$defs", {}), "securitySchemes": SECURITY_SCHEMES},
    }


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _head(get: dict[str, Any]) -> dict[str, Any]:
    """HEAD: the GET's headers and status, no body."""
    responses = {
        status: {k: v for k, v in response.items() if k != "content"}
        for status, response in get["responses"].items()
    }
    return {
        **get,
        "summary": f"{get['summary']} (headers only)",
        "operationId": f"{get['operationId']}_head",
        "responses": responses,
    }


def _path_schema(r: Route, name: str) -> dict[str, Any]:
    kind = r.path_types.get(name)
    return TypeAdapter(kind).json_schema() if kind is not None else {"type": "string"}


def _operation(r: Route) -> dict[str, Any]:
    params = [
        {"name": name, "in": "path", "required": True, "schema": _path_schema(r, name)}
        for name in (p.strip("{}") for p in r.path.split("/") if p.startswith("{"))
    ] + r.parameters
    responses: dict[str, Any] = {}
    for status, (description, model) in sorted(r.responses.items()):
        responses[str(status)] = {"description": description}
        if model:
            responses[str(status)]["content"] = {"application/json": {"schema": _ref(model)}}
    errors = {400, 413, 422} if r.body else set()
    errors |= {413} if r.method == "POST" else set()  # over SHIPNOTIFY_MAX_BODY_BYTES
    errors |= {401} if r.security else set()
    errors |= {422} if r.path_types else set()
    for status in sorted(errors - r.responses.keys()):
        responses[str(status)] = {
            "description": "error",
            "content": {"application/json": {"schema": _ref(ErrorBody)}},
        }
    op: dict[str, Any] = {
        "summary": r.summary,
        "operationId": r.handler.__name__,
        "responses": responses,
    }
    if r.tag:
        op["tags"] = [r.tag]
    if params:
        op["parameters"] = params
    if r.body:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(r.body)}},
        }
    if r.security:
        op["security"] = [{s: []} for s in r.security.split("|")]
    return op
