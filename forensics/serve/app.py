"""The HTTP application: GenieATM's report API, every report of the case, alerts, captures, browsable pages.

A renderer behind HTTP: it parses the request, runs a report through the reports library on a read-only
connection, and answers with the JSON renderer's envelope or the HTML renderer's page. Every route is GET.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from typing import Annotated
from urllib.parse import quote

import duckdb
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException as StarletteHTTPException

from forensics import __version__
from forensics.errors import ForensicsError, SourceMissingError, UsageError
from forensics.render.jsonout import dumps_readable, envelope, error_envelope
from forensics.reports import ReportResult, list_reports, run_report
from forensics.serve.auth import BasicAuth
from forensics.serve.caseaccess import CaseSource, list_alerts, list_captures, list_coverage, run_cancellable
from forensics.serve.evidence import carve_alert, carve_row
from forensics.serve.genieatm import ApiError, ReportRequest, bad, parse_request, pick_group
from forensics.serve.pages import alerts_html, error_page, index_page, report_page

# GenieATM's report paths and the report each one runs.
GENIEATM_PATHS: dict[str, str] = {
    "/api/report/internet/summary": "internet_summary",
    "/api/report/internet/originasn": "origin_as",
    "/api/report/filter/compare": "filter_compare",
    "/api/report/sub-network/compare": "subnetwork_compare",
}
REQUEST_HELP = ("GenieATM's request as JSON, e.g. {\"report_datetime\": {\"defined_by\": \"weekly\", \"end_time\": "
                "\"2016-09-07 00:00\"}, \"unit\": \"bps\", \"protocol\": \"both\", \"data_format\": \"graph_data\", "
                "\"display_data\": \"yes\"}")
RequestParam = Annotated[str | None, Query(alias="request", description=REQUEST_HELP)]
Limit = Annotated[int, Query(ge=1, le=1000, description="Rows at most.")]
Offset = Annotated[int, Query(ge=0, le=2**62, description="Rows to skip.")]
JSON_TYPE = "application/json"


def fail(status: int, msg: str, description: str = "") -> JSONResponse:
    """The fail envelope with its HTTP status; err.code is the HTTP status."""
    return JSONResponse(error_envelope(msg, status, description), status_code=status)


def _status_of(exc: ForensicsError) -> int:
    if isinstance(exc, UsageError):
        return 400
    if isinstance(exc, SourceMissingError):
        return 409
    return 500  # DefinitionError and the rest: the server's own definitions or data are at fault


_INT_RANGES = {"INTEGER": (-(2**31), 2**31 - 1), "BIGINT": (-(2**63), 2**63 - 1)}


def _check_integers(definition: object, params: dict) -> None:
    """Integer parameters within their SQL type (and `top` at least 1), so that a value the query cannot bind
    is the client's 400, not the definition's 500."""
    for name, value in params.items():
        param = definition.param(name)
        if param is None or param.type not in _INT_RANGES:
            continue
        try:
            number = int(value)
        except (TypeError, ValueError):
            continue  # run_report's own coercion names it
        lo, hi = _INT_RANGES[param.type]
        if name == "top":
            lo, hi = 1, 1000
        if not lo <= number <= hi:
            raise bad(f"request.params.{name}", f"{value!r}: give a whole number from {lo} to {hi}")


def _run(case: object, source: CaseSource, name: str, req: ReportRequest) -> ReportResult:
    """Resolve the name and the group ids against the catalog and config, then run the report."""
    config = source.config
    catalog = list_reports((*config.queries_dirs, *source.queries_dirs))
    if name not in catalog:
        broken = [e for e in catalog.errors if e.path.endswith(f"/{name}.sql")]
        if broken:
            raise broken[0]
        raise ApiError(404, f"report {name!r}: no such report (known: {', '.join(catalog.names())})", "report")
    params = dict(req.params)
    _check_integers(catalog[name], params)
    notes = []
    if req.filter_group is not None:
        if name != "filter_compare":
            raise bad("request.filter_group_id", "only for the filter compare report")
        params["group"] = pick_group(config.filter_groups, req.filter_group, "filter_group_id")
        notes.append(f"filter group {params['group']}: {', '.join(config.filter_groups[params['group']])}")
    if req.sub_network_group is not None:
        if name != "subnetwork_compare":
            raise bad("request.sub_network_group_id", "only for the sub-network compare report")
        group = pick_group(config.subnetwork_groups, req.sub_network_group, "sub_network_group_id")
        members = config.subnetwork_groups[group]
        config = dataclasses.replace(config, subnetworks={m: config.subnetworks[m] for m in members},
                                     subnetwork_groups={group: members})
        notes.append(f"sub-network group {group}: {', '.join(members)}")
    result = run_report(case, name, params, config=config, queries_dirs=source.queries_dirs,
                        filter_expr=req.filter_expr)
    result.notes.extend(notes)
    if req.ignored_keys:
        result.notes.append(f"request keys not used by this server: {', '.join(req.ignored_keys)}")
    return result


def create_app(source: CaseSource, users: dict[str, bytes] | None = None) -> FastAPI:
    """The application for one case; with `users` (auth.load_users), every request needs one (HTTP Basic)."""
    app = FastAPI(title="forensics", version=__version__, docs_url=None, redoc_url=None,
                  description="GenieATM-compatible report API over a forensics case (read-only), and the case's "
                              "pages. Every JSON answer is the envelope of forensics/schemas/report.schema.json.")

    if users:
        app.add_middleware(BasicAuth, users=users)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "query") or "request"
        return fail(400, f"{where}: {first.get('msg', 'invalid')}", where)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        msg = f"{request.method} {request.url.path}: {exc.detail}"
        if request.url.path.startswith("/api/"):
            return fail(exc.status_code, msg, "path")
        return HTMLResponse(error_page(exc.status_code, msg), status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        msg = f"internal error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        if request.url.path.startswith("/api/"):
            return fail(500, msg, "server")
        return HTMLResponse(error_page(500, msg), status_code=500)

    async def answer(request: Request, name: str, text: str | None, download: bool = False) -> Response:
        def work(case: object) -> tuple[str, str]:
            """Run and render on the worker thread: a long window's JSON takes seconds to write."""
            result = _run(case, source, name, req)
            asked = json.dumps(json.loads(text), separators=(",", ":")) if text and text.strip() else "{}"
            doc = envelope(result, f"/api/output/{result.name}.json?request={quote(asked, safe='')}")
            if not download and not req.display_data:  # GenieATM: data only with display_data=yes
                data = doc["response"]["result"]["data"]
                data.pop("data")
                data.pop("sections")
            return result.name, dumps_readable(doc) + "\n"

        try:
            req = parse_request(text)
            report_name, body = await run_cancellable(request, source, work)
        except ApiError as exc:
            return fail(exc.status, exc.msg, exc.description)
        except ForensicsError as exc:
            return fail(_status_of(exc), str(exc), type(exc).__name__)
        except duckdb.InterruptException:
            return fail(499, "the client went away; the query was interrupted", "cancelled")
        headers = {"Content-Disposition": f'attachment; filename="{report_name}.json"'} if download else {}
        return Response(body, media_type=JSON_TYPE, headers=headers)

    def genieatm_route(path: str, name: str) -> None:
        async def handler(request: Request, req: RequestParam = None) -> Response:
            return await answer(request, name, req)

        handler.__name__ = f"genieatm_{name}"
        app.get(path, summary=f"GenieATM: {name}", tags=["GenieATM"],
                description=f"Runs report `{name}` (GenieATM's request form).")(handler)

    for path, name in GENIEATM_PATHS.items():
        genieatm_route(path, name)

    @app.get("/api/reports", tags=["reports"], summary="Every report of the case with its parameters")
    async def reports_catalog() -> Response:
        catalog = list_reports((*source.config.queries_dirs, *source.queries_dirs))
        doc = {"reports": [{"name": d.name, "title": d.title, "description": d.description, "unit": d.unit,
                            "api": f"/api/report/{d.name}", "page": f"/report/{d.name}.html",
                            "params": [{"name": p.name, "type": p.type, "required": not p.has_default}
                                       for p in d.params]}
                           for d in (catalog[n] for n in catalog.names())],
               "errors": [str(e) for e in catalog.errors]}
        return JSONResponse({"response": {"status": "succ", "result": {"output_file": None, "data": doc}}})

    async def alerts_answer(request: Request, limit: int, offset: int) -> Response:
        data = await run_cancellable(request, source, lambda case: list_alerts(case, limit, offset))
        if not data["present"]:
            data["notes"] = ["this case has no alerts table (no detection has run on it)"]
        data["report"] = "Forensics>Alerts"
        return JSONResponse({"response": {"status": "succ", "result": {"output_file": None, "data": data}}})

    @app.get("/api/alerts", tags=["reports"], summary="Rows of the case's alerts table (empty if none)")
    async def alerts(request: Request, limit: Limit = 1000, offset: Offset = 0) -> Response:
        return await alerts_answer(request, limit, offset)

    @app.get("/api/captures", tags=["reports"], summary="The imported files with their provenance and coverage",
             description="`captures`: one row per file (sha256, size, counts, time range); `coverage`: one row "
                         "per capture interface (or a file's exported flows) with its time range, packets, bytes, "
                         "flows and malformed/rejected counts; `rejected_files`: files refused whole.")
    async def captures(request: Request) -> Response:
        def work(case: object) -> dict:
            coverage = list_coverage(case)
            return {"captures": list_captures(case), "coverage": coverage["spans"],
                    "rejected_files": coverage["rejected_files"]}

        data = await run_cancellable(request, source, work)
        return JSONResponse({"response": {"status": "succ", "result": {"output_file": None, "data": data}}})

    @app.get("/api/report/{name}", tags=["reports"], summary="Any report of the case by name",
             description="The same request form as GenieATM's paths; `alerts` lists the alerts table unless a "
                         "report of that name exists.")
    async def any_report(request: Request, name: str, req: RequestParam = None) -> Response:
        if name == "alerts":
            catalog = list_reports((*source.config.queries_dirs, *source.queries_dirs))
            if "alerts" not in catalog:
                return await alerts_answer(request, 1000, 0)
        return await answer(request, name, req)

    @app.get("/api/output/{name}.json", tags=["reports"], summary="The full result of a request as a JSON file",
             description="What `result.output_file` points to: the envelope with every section's data.")
    async def output(request: Request, name: str, req: RequestParam = None) -> Response:
        return await answer(request, name, req, download=True)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index(request: Request) -> HTMLResponse:
        return HTMLResponse(await run_cancellable(request, source, lambda case: index_page(case, source)))

    @app.get("/report", include_in_schema=False)
    async def report_form(request: Request, name: str = "") -> Response:
        rest = [(k, v) for k, v in request.query_params.multi_items() if k != "name" and v != ""]
        query = "&".join(f"{quote(k)}={quote(v, safe='')}" for k, v in rest)
        return RedirectResponse(f"/report/{quote(name, safe='')}.html" + (f"?{query}" if query else ""), 303)

    @app.get("/report/{name}.html", response_class=HTMLResponse, include_in_schema=False)
    async def report_html(request: Request, name: str) -> HTMLResponse:
        form = {k: v for k, v in request.query_params.items() if v.strip()}
        try:
            page = await run_cancellable(request, source, lambda case: report_page(case, source, name, form))
        except ForensicsError as exc:
            status = 404 if isinstance(exc, UsageError) and "no report called" in str(exc) else _status_of(exc)
            return HTMLResponse(error_page(status, str(exc)), status_code=status)
        return HTMLResponse(page)

    @app.get("/alerts.html", response_class=HTMLResponse, include_in_schema=False)
    async def alerts_page(request: Request) -> HTMLResponse:
        return HTMLResponse(await run_cancellable(request, source, alerts_html))

    async def send_carved(request: Request, work: object) -> Response:
        try:
            path, download = await run_cancellable(request, source, work)
        except ForensicsError as exc:
            msg = str(exc)
            status = 404 if isinstance(exc, UsageError) and msg.startswith(("no report called", "no alert ")) \
                else _status_of(exc)
            return HTMLResponse(error_page(status, msg), status_code=status)
        media = "application/x-pcapng" if path.suffix == ".pcapng" else "application/vnd.tcpdump.pcap"
        return FileResponse(path, media_type=media, filename=download,
                            background=BackgroundTask(shutil.rmtree, path.parent, ignore_errors=True))

    @app.get("/alerts/{alert_id}.pcap", include_in_schema=False)
    async def alert_carve(request: Request, alert_id: int) -> Response:
        return await send_carved(request, lambda case: carve_alert(case, alert_id))

    @app.get("/carve/{name}/{item}.pcap", include_in_schema=False)
    async def carve_link(request: Request, name: str, item: int) -> Response:
        form = {k: v for k, v in request.query_params.items() if v.strip()}
        return await send_carved(request, lambda case: carve_row(case, source, name, item, form))

    return app
