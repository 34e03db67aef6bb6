"""The web console's pages, served by ``openfaxd`` on the API's listener at ``/console/``
(``docs/design/console.md``).

Server-rendered HTML (Jinja2) with htmx for the parts that change in place. Every page acts
for the account signed in to it through the same service calls and the same access rights
(``openfax.api.rights``) as the API: the console is another face of the API, not a second
path to the store. In front of it, :class:`SignedIn` lets a request through only with a
session in force and, for a POST, its CSRF token.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
import time
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import FastAPI, File, Form, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openfax.api import models as m
from openfax.api.app import (
    check_job_owner,
    check_message,
    folder_owner,
    submit_uploads,
)
from openfax.api.auth import Caller
from openfax.api.errors import fax_error_response, problems
from openfax.api.limits import RequestLimits, limited_routes
from openfax.api.rights import (
    Authenticated,
    ManageJobs,
    QueryArchives,
    QueryConfig,
    QueryJobs,
    Submitter,
    owner_filter,
)
from openfax.console.page_images import PageImages, Turn, Width, job_page, turned
from openfax.console.reports import transmission_report
from openfax.console.sessions import COOKIE, SIGN_IN_COOKIE, Sessions, new_token, same_token
from openfax.console.strings import text
from openfax.errors import FaxError, SignInThrottledError, SubmissionError
from openfax.model import (
    AccessRights2,
    CoverPageType,
    Direction,
    JobOperations,
    Priority,
    ReceiptType,
    ScheduleType,
    ServerEvents,
)
from openfax.model import parse_id as parse_fax_id
from openfax.model.contacts import BOOK_NAMES, ContactInfo
from openfax.model.paging import decode_cursor, encode_cursor
from openfax.model.records import (
    MAX_ADDRESS_LENGTH,
    MAX_NOTE_LENGTH,
    MAX_SUBJECT_LENGTH,
    MessageInfo,
    OutgoingJobInfo,
    Recipient,
)
from openfax.service import FaxService
from openfax.service.hearing import Hearing, incoming_faxes_are_public, sees_receive_folder
from openfax.service.outgoing_queue import OutgoingQueue
from openfax.service.submission import number_problem

PREFIX = "/console"
STATIC = f"{PREFIX}/static"
SIGN_IN = f"{PREFIX}/sign-in"
HERE = Path(__file__).parent
PAGE_SIZE = 25
"""Faxes on one page of the inbox or the sent items."""
OUTBOX_SIZE = 100
"""Jobs the outbox shows at most (the first of the queue, with the queue's count)."""
MAX_RECIPIENTS = 100
"""Fax numbers one submission from the console takes."""
MAX_PARTY_LENGTH = 100
"""The longest sender or number searched for."""
CSRF_HEADER = "x-csrf-token"
_R2 = AccessRights2
_NUMBERS = re.compile(r"[\n,;]+")
OPERATIONS = {
    "pause": (OutgoingQueue.pause_job, JobOperations.PAUSE),
    "resume": (OutgoingQueue.resume_job, JobOperations.RESUME),
    "restart": (OutgoingQueue.restart_job, JobOperations.RESTART),
    "cancel": (OutgoingQueue.cancel_job, JobOperations.DELETE),
}
"""The buttons of an outbox job: the queue's call and the operation that must be legal."""
FOLDERS = {"inbox": Direction.IN, "sent": Direction.OUT}
LIST_OF = {
    ServerEvents.IN_ARCHIVE: "inbox",
    ServerEvents.OUT_ARCHIVE: "sent",
    ServerEvents.OUT_QUEUE: "outbox",
}
"""The console's list each kind of server event changes (the name of its SSE event)."""
LIST_EVENTS = ServerEvents.IN_ARCHIVE | ServerEvents.OUT_ARCHIVE | ServerEvents.OUT_QUEUE
PRIORITY_RIGHT = {
    Priority.LOW: _R2.SUBMIT_LOW,
    Priority.NORMAL: _R2.SUBMIT_NORMAL,
    Priority.HIGH: _R2.SUBMIT_HIGH,
}


def with_console(api: ASGIApp, service: FaxService) -> ASGIApp:
    """The API with the console beside it (unless ``[console] enabled`` is off): requests
    under ``/console`` go to the console, a browser asking for ``/`` is sent there, and
    every other request goes to the API, untouched."""
    if not service.config.console.enabled:
        return api
    return _Dispatch(api, console_app(service))


class _Dispatch:
    """ASGI: the console's paths to the console, the rest to the API."""

    def __init__(self, api: ASGIApp, console: ASGIApp) -> None:
        self.api = api
        self.console = console

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and (path == PREFIX or path.startswith(PREFIX + "/")):
            await self.console(scope, receive, send)
        elif scope["type"] == "http" and path == "/" and _wants_html(scope):
            await RedirectResponse(f"{PREFIX}/", status_code=303)(scope, receive, send)
        else:
            await self.api(scope, receive, send)


def _wants_html(scope: Scope) -> bool:
    return "text/html" in HTTPConnection(scope).headers.get("accept", "")


def console_app(service: FaxService) -> ASGIApp:
    """The console: its pages behind the request limits of the API (``[api]``) and
    :class:`SignedIn`."""
    sessions = Sessions(service.config.console)
    images = PageImages(service)
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    templates = Jinja2Templates(directory=HERE / "templates")  # autoescapes HTML
    templates.env.globals["_"] = text
    templates.env.globals["static"] = STATIC
    templates.env.globals["rights"] = AccessRights2
    templates.env.filters["local_time"] = _local_time
    _install_errors(app, templates)
    _routes(app, service, sessions, images, templates)
    # The limits check a route's rights before its body only where the body costs (an
    # upload); elsewhere the route's own check refuses, with the console's page.
    routes = [r if r.upload else dataclasses.replace(r, rights=()) for r in limited_routes(app)]
    limited = RequestLimits(app, routes=routes, config=service.config.api)
    static = StaticFiles(directory=HERE / "static")
    return SignedIn(limited, static, service, sessions, templates)


class SignedIn:
    """ASGI middleware in front of the console: the static files and the sign-in page for
    everyone; every other page only with a session in force, whose account is read afresh
    (a removed account's session ends), and every POST only with the session's CSRF token
    in its ``X-CSRF-Token`` header (the sign-in form's: the token of its own cookie). A
    browser signed out is sent to the sign-in page."""

    def __init__(
        self,
        app: ASGIApp,
        static: ASGIApp,
        service: FaxService,
        sessions: Sessions,
        templates: Jinja2Templates,
    ) -> None:
        self.app = app
        self.static = static
        self.service = service
        self.sessions = sessions
        self.templates = templates

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        send = _guarded(send)
        path: str = scope["path"]
        if path.startswith(STATIC + "/"):
            scope = {**scope, "root_path": scope.get("root_path", "") + STATIC}
            await self.static(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        posted = scope["method"] not in ("GET", "HEAD")
        token = connection.headers.get(CSRF_HEADER)
        if path == SIGN_IN:
            if posted and not same_token(token, connection.cookies.get(SIGN_IN_COOKIE, "")):
                await self._refuse(scope, receive, send, 403, "csrf.refused")
                return
            await self.app(scope, receive, send)
            return
        session_id = connection.cookies.get(COOKIE)
        session = self.sessions.find(session_id, time.monotonic())
        principal = None
        if session is not None:
            principal = await self.service.accounts.current(session.account, session.account_id)
            if principal is None:
                self.sessions.end(session_id)
        if session is None or principal is None:
            if posted:
                await self._refuse(scope, receive, send, 401, "signed_out")
            else:
                await _sign_in_redirect(connection)(scope, receive, send)
            return
        if posted and not same_token(token, session.csrf):
            await self._refuse(scope, receive, send, 403, "csrf.refused")
            return
        state = scope.setdefault("state", {})
        state["caller"] = Caller(principal.name, False, principal.rights, principal.id)
        state["session"] = session
        state["session_id"] = session_id
        await self.app(scope, receive, send)

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, status: int, key: str
    ) -> None:
        response = _notice(self.templates, scope, text(key), status)
        if key == "signed_out":
            response.headers["HX-Redirect"] = SIGN_IN
        await response(scope, receive, send)


SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        b"form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]
"""On every answer of the console: its pages load only the server's own script, style and
images (no inline script: htmx's attributes need none), may not be framed by another site
(clickjacking), and do not tell other sites their addresses."""


def _guarded(send: Send) -> Send:
    """``send`` with :data:`SECURITY_HEADERS` added to the response's start."""

    async def guarded(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
        await send(message)

    return guarded


def _sign_in_redirect(connection: HTTPConnection) -> Response:
    """To the sign-in page, which comes back here after (htmx: by its HX-Redirect)."""
    wanted = connection.url.path
    if connection.url.query:
        wanted += "?" + connection.url.query
    target = f"{SIGN_IN}?next={quote(wanted, safe='')}"
    if connection.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def _notice(templates: Jinja2Templates, scope: Scope, message: str, status: int) -> HTMLResponse:
    """A refusal or error as the console shows it: the notice alone for htmx (shown in the
    page's notice area), a whole page otherwise (with the signed-in caller's menu)."""
    connection = HTTPConnection(scope)
    if connection.headers.get("hx-request"):
        body = templates.get_template("notice.html").render(message=message, error=True)
        return HTMLResponse(
            body, status, headers={"HX-Retarget": "#notice", "HX-Reswap": "innerHTML"}
        )
    state = scope.get("state", {})
    session = state.get("session")
    body = templates.get_template("error.html").render(
        message=message,
        caller=state.get("caller"),
        csrf="" if session is None else session.csrf,
    )
    return HTMLResponse(body, status)


def _install_errors(app: FastAPI, templates: Jinja2Templates) -> None:
    """The service's errors and bad input as the console shows them, with the API's status
    codes and messages (``openfax.api.errors``)."""

    async def fax_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, FaxError)
        status = (
            404 if isinstance(exc, FolderNotFoundError) else fax_error_response(exc).status_code
        )
        return _notice(templates, request.scope, str(exc), status)

    async def bad_input(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return _notice(templates, request.scope, problems(exc.errors()), 400)

    app.add_exception_handler(FaxError, fax_error)
    app.add_exception_handler(RequestValidationError, bad_input)


def _local_time(moment: datetime | None) -> str:
    """A time as the console shows it: in the server's time zone, to the minute."""
    if moment is None:
        return ""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def _local_day(day: date) -> datetime:
    """The start of ``day`` in the server's time zone."""
    return datetime(day.year, day.month, day.day).astimezone()


def _routes(
    app: FastAPI,
    service: FaxService,
    sessions: Sessions,
    images: PageImages,
    templates: Jinja2Templates,
) -> None:
    def page(request: Request, name: str, **context: Any) -> HTMLResponse:
        """A template drawn for the signed-in caller (or for nobody, at sign-in)."""
        state = request.scope.get("state", {})
        session = state.get("session")
        context.setdefault("caller", state.get("caller"))
        context.setdefault("csrf", session.csrf if session is not None else "")
        return templates.TemplateResponse(request, name, context)

    @app.get(PREFIX, include_in_schema=False)
    @app.get(PREFIX + "/", include_in_schema=False)
    async def home(who: Authenticated) -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/inbox", status_code=303)

    # --- signing in and out ---------------------------------------------------------------------

    @app.get(SIGN_IN)
    async def sign_in_form(
        request: Request, next: Annotated[str, Query(max_length=2048)] = ""
    ) -> HTMLResponse:
        csrf = request.cookies.get(SIGN_IN_COOKIE) or new_token()
        response = page(request, "sign_in.html", csrf=csrf, next=_next_page(next), error="")
        _set_cookie(request, response, SIGN_IN_COOKIE, csrf)
        return response

    @app.post(SIGN_IN)
    async def sign_in(
        request: Request,
        account: Annotated[str, Form(max_length=256)] = "",
        password: Annotated[str, Form(max_length=1024)] = "",
        next: Annotated[str, Form(max_length=2048)] = "",
    ) -> Response:
        """Sign in with an account's name and password (the API's check, throttled alike):
        a new session under a new id, whatever session the browser had before."""
        csrf = request.cookies.get(SIGN_IN_COOKIE, "")
        error = "sign_in.missing"
        seconds = 0
        if account and password:
            client = request.client
            try:
                principal = await service.accounts.sign_in_password(
                    account, password, None if client is None else client.host
                )
            except SignInThrottledError as exc:
                principal, error, seconds = None, "sign_in.throttled", exc.retry_after
            else:
                error = "sign_in.wrong"
            if principal is not None:
                sessions.end(request.cookies.get(COOKIE))
                session_id, _ = sessions.start(principal.name, principal.id, time.monotonic())
                response = Response(status_code=204, headers={"HX-Redirect": _next_page(next)})
                _set_cookie(request, response, COOKIE, session_id)
                response.delete_cookie(SIGN_IN_COOKIE, path=PREFIX)
                return response
        message = text(error, seconds=seconds) if seconds else text(error)
        return page(request, "sign_in_form.html", csrf=csrf, next=_next_page(next), error=message)

    @app.post(PREFIX + "/sign-out")
    async def sign_out(request: Request, who: Authenticated) -> Response:
        sessions.end(request.scope["state"]["session_id"])
        response = Response(status_code=204, headers={"HX-Redirect": SIGN_IN})
        response.delete_cookie(COOKIE, path=PREFIX)
        return response

    # --- what changed, as it happens -------------------------------------------------------

    @app.get(PREFIX + "/events")
    async def events(
        request: Request,
        who: QueryArchives,
        after: Annotated[int | None, Query(ge=0, le=m.MAX_INT64)] = None,
    ) -> StreamingResponse:
        """Server-sent events naming the list that changed (``inbox``, ``sent``,
        ``outbox``) as the server commits the change, for the faxes the account may see
        (the event stream's rule, :class:`Hearing`): the open page asks for its rows again.
        ``after``: the number of the last event the page was drawn after, so that nothing
        committed between drawing and connecting is missed. The stream ends with the
        session's idle time, at sign-out, with the service, or the account."""
        hearing = Hearing(service, who.name, who.account_id, who.rights)
        session_id = request.scope["state"]["session_id"]
        start = await service.listening.last_seq() if after is None else after
        lasting = service.config.console.session_idle_minutes * 60

        async def stream() -> AsyncIterator[str]:
            yield ": the lists that change\n\n"
            changes = service.listening.events(LIST_EVENTS | ServerEvents.CONFIG, start)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(lasting):
                    async for event in changes:
                        if hearing.changes_rights(event) and await hearing.refresh() is not None:
                            return
                        if not sessions.holds(session_id, time.monotonic()):
                            return  # signed out meanwhile
                        folder = LIST_OF.get(event.mask)
                        if folder is not None and await hearing.allows(event):
                            yield f"event: {folder}\ndata: {event.seq}\n\n"

        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)

    # --- the outbox -----------------------------------------------------------------------------

    @app.get(PREFIX + "/outbox")
    async def outbox(request: Request, who: QueryJobs, submitted: str = "") -> HTMLResponse:
        """The jobs of the outgoing queue (the caller's own, or all with
        far2QUERY_OUT_JOBS) with their live state, asked again every few seconds."""
        rows = await outbox_rows(who)
        return page(request, "outbox.html", submitted=bool(submitted), **rows)

    async def outbox_rows(who: Caller) -> dict[str, Any]:
        owner = owner_filter(who, _R2.QUERY_OUT_JOBS)
        listed = await service.outgoing_queue.get_job_page(None, OUTBOX_SIZE, owner=owner)
        return {"jobs": listed.jobs, "count": listed.count, "buttons": _buttons}

    @app.get(PREFIX + "/outbox/jobs")
    async def outbox_jobs(request: Request, who: QueryJobs) -> HTMLResponse:
        """The outbox's rows alone: what the page asks every few seconds."""
        return page(request, "jobs.html", **await outbox_rows(who))

    @app.get(PREFIX + "/outbox/{job_id}")
    async def preview(
        request: Request,
        job_id: str,
        who: QueryJobs,
        page_number: Annotated[int, Query(alias="page", ge=1)] = 1,
    ) -> HTMLResponse:
        """A queued job's pages exactly as they will go out, cover page and header line
        included (FAXCOMEX ``CopyTiff``), page by page."""
        await check_job_owner(service, who, job_id, _R2.QUERY_OUT_JOBS)
        job = await service.outgoing_queue.get_job(parse_fax_id(job_id))
        shown = min(page_number, max(job.pages, 1))
        return page(request, "preview.html", job=job, page_number=shown)

    @app.get(PREFIX + "/outbox/{job_id}/pages/{number}.png")
    async def preview_image(job_id: str, number: int, who: QueryJobs) -> Response:
        await check_job_owner(service, who, job_id, _R2.QUERY_OUT_JOBS)
        png = await job_page(service, parse_fax_id(job_id), number)
        return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})

    @app.post(PREFIX + "/outbox/{job_id}/{operation}")
    async def operate(
        request: Request, job_id: str, operation: str, who: ManageJobs
    ) -> HTMLResponse:
        """Pause, resume, restart or cancel a job (its owner's, or any with
        far2MANAGE_OUT_JOBS), then the outbox's rows as they stand."""
        if operation not in OPERATIONS:
            raise SubmissionError(f"{operation!r} is not an operation of a job")
        call, _legal = OPERATIONS[operation]
        await check_job_owner(service, who, job_id, _R2.MANAGE_OUT_JOBS)
        await call(service.outgoing_queue, parse_fax_id(job_id), who.name)
        return page(request, "jobs.html", **await outbox_rows(who))

    # --- administration -------------------------------------------------------------------

    @app.get(PREFIX + "/devices")
    async def devices(request: Request, who: QueryConfig) -> HTMLResponse:
        """The lines and what each is doing now (far2QUERY_CONFIG, as ``GET /v1/devices``),
        asked again every 5 s."""
        listed = await service.devices.get_devices()
        template = "devices_rows.html" if request.headers.get("hx-request") else "devices.html"
        return page(request, template, devices=listed)

    # --- sending --------------------------------------------------------------------------------

    @app.get(PREFIX + "/send")
    async def send_form(request: Request, who: Submitter) -> HTMLResponse:
        """The form: numbers, files, a server cover page, the priorities the account may use."""
        cover_pages = [info.name for info in await service.cover_pages.get_cover_pages()]
        priorities = [p for p in Priority if who.holds(PRIORITY_RIGHT[p])]
        contacts: list[ContactInfo] = []
        groups: set[str] = set()
        for name in BOOK_NAMES:  # the account's own book, then the shared one
            book = service.address_book.book(name, who.account_id, who.rights)
            contacts += await service.address_book.get_contacts(book)
            groups |= {group.name for group in await service.address_book.get_groups(book)}
        return page(
            request,
            "send.html",
            cover_pages=cover_pages,
            priorities=priorities,
            contacts=contacts,
            groups=sorted(groups),
        )

    @app.get(PREFIX + "/send/numbers")
    async def check_numbers(
        request: Request,
        who: Submitter,
        recipients: Annotated[str, Query(max_length=MAX_RECIPIENTS * 64)] = "",
    ) -> HTMLResponse:
        """What the submission would say of the numbers typed so far (the Send form asks
        as one types): each that is no fax number this server dials, and why."""
        problems = []
        for number in _numbers(recipients)[:MAX_RECIPIENTS]:
            reason = number_problem(number, service.ctx.dials)
            if reason is not None:
                problems.append(f"{number!r} {reason}")
        return page(request, "numbers.html", problems=problems)

    @app.post(PREFIX + "/send")
    async def send(
        request: Request,
        who: Submitter,
        recipients: Annotated[str, Form(max_length=MAX_RECIPIENTS * 64)] = "",
        subject: Annotated[str, Form(max_length=MAX_SUBJECT_LENGTH)] = "",
        note: Annotated[str, Form(max_length=MAX_NOTE_LENGTH)] = "",
        cover_page: Annotated[str, Form(max_length=256)] = "",
        priority: Annotated[str, Form(max_length=16)] = "normal",
        send_at: Annotated[datetime | None, Form()] = None,
        receipt_address: Annotated[str, Form(max_length=MAX_ADDRESS_LENGTH)] = "",
        contacts: Annotated[list[str] | None, Form(max_length=MAX_RECIPIENTS)] = None,
        groups: Annotated[list[str] | None, Form(max_length=MAX_RECIPIENTS)] = None,
        files: Annotated[list[UploadFile] | None, File()] = None,
    ) -> Response:
        """Submit the files to the numbers typed (the API's submission, for the signed-in
        account), then show the outbox."""
        numbers = [*(contacts or []), *_numbers(recipients)]
        if not numbers and not groups:
            raise SubmissionError(text("send.no_recipient"))
        if len(numbers) > MAX_RECIPIENTS:
            raise SubmissionError(text("send.too_many", most=MAX_RECIPIENTS))
        uploads = [upload for upload in files or [] if upload.filename]
        if not uploads and not cover_page:
            raise SubmissionError(text("send.no_file"))
        try:
            document = m.DocumentModel(
                recipients=[Recipient(fax_number=number) for number in numbers],
                recipient_groups=groups or [],
                subject=subject,
                note=note,
                cover_page_type=CoverPageType.SERVER if cover_page else CoverPageType.NONE,
                cover_page=cover_page,
                priority=Priority[priority.upper()],
                # A time typed without a zone is the server's, as the times it shows.
                schedule_type=ScheduleType.NOW if send_at is None else ScheduleType.SPECIFIC_TIME,
                schedule_time=None if send_at is None else send_at.astimezone(),
                receipt_type=ReceiptType.MAIL if receipt_address.strip() else ReceiptType.NONE,
                receipt_address=receipt_address.strip(),
            )
        except KeyError:
            raise SubmissionError(f"priority: {priority!r} is none of low, normal, high") from None
        except ValidationError as exc:
            raise SubmissionError(problems(exc.errors())) from None
        result = await submit_uploads(service, who, document, uploads, None, None)
        target = f"{PREFIX}/outbox?submitted={result.submission_id:016x}"
        return Response(status_code=204, headers={"HX-Redirect": target})

    # --- received and sent faxes ----------------------------------------------------------------

    @app.get(PREFIX + "/{folder}")
    async def folder(
        request: Request,
        folder: str,
        who: QueryArchives,
        party: Annotated[str, Query(max_length=MAX_PARTY_LENGTH)] = "",
        since: date | None = None,
        until: date | None = None,
        after: Annotated[str | None, Query(max_length=200)] = None,
    ) -> Response:
        """The inbox (received faxes) or the sent items, newest first, a page at a time,
        narrowed to a sender or number and to days; htmx asks for the rows alone."""
        direction = _folder_direction(folder)
        seq = await service.listening.last_seq()  # before the listing: no change is missed
        owner = None
        if direction is Direction.OUT or not sees_receive_folder(service, who.rights):
            owner = await folder_owner(service, who, None, _R2.QUERY_ARCHIVES)
        listed = await service.archives.get_messages(
            direction,
            None if after is None else decode_cursor(after),
            PAGE_SIZE,
            owner=owner,
            newest_first=True,
            party=party.strip(),
            archived_from=None if since is None else _local_day(since),
            archived_before=None if until is None else _local_day(until + timedelta(days=1)),
        )
        cursor = listed.next_cursor
        search = {"party": party, "since": since or "", "until": until or ""}
        template = "rows.html" if request.headers.get("hx-request") else "folder.html"
        return page(
            request,
            template,
            folder=folder,
            messages=listed.messages,
            search=search,
            searched=bool(party or since or until),
            older=None if cursor is None else encode_cursor(cursor),
            paged=after is not None,
            live=after is None and not (party or since or until),
            seq=seq,
        )

    async def visible(who: Caller, direction: Direction, fax_id: str) -> MessageInfo:
        """The archived fax, once ``who`` may see it (the API's rule)."""
        message = await service.archives.get_message(direction, parse_fax_id(fax_id))
        check_message(who, message, manage=False, public=incoming_faxes_are_public(service))
        return message

    @app.get(PREFIX + "/{folder}/{fax_id}")
    async def viewer(
        request: Request,
        folder: str,
        fax_id: str,
        who: QueryArchives,
        page_number: Annotated[int, Query(alias="page", ge=1)] = 1,
        zoom: bool = False,
        turn: Turn = Turn.NONE,
    ) -> HTMLResponse:
        """A fax page by page at a readable size (zoomed: larger), with its PDF; a received
        fax is marked read."""
        direction = _folder_direction(folder)
        await visible(who, direction, fax_id)
        message = await service.archives.get_message(direction, parse_fax_id(fax_id), who.name)
        if direction is Direction.IN and not message.read:
            await service.archives.save_message(direction, message.id, {"read": True}, who.name)
        shown = min(page_number, max(message.pages, 1))
        return page(
            request,
            "viewer.html",
            folder=folder,
            message=message,
            page_number=shown,
            zoom=zoom,
            width=Width.ZOOMED if zoom else Width.PAGE,
            turn=turn,
            next_turn=Turn((turn + 90) % 360),
        )

    @app.get(PREFIX + "/{folder}/{fax_id}/pages/{number}.png")
    async def page_image(
        folder: str,
        fax_id: str,
        number: int,
        who: QueryArchives,
        width: Width = Width.THUMBNAIL,
        turn: Turn = Turn.NONE,
    ) -> Response:
        """One page of a fax as a PNG, rendered on first use and kept (turned: made from
        the kept one on each request)."""
        direction = _folder_direction(folder)
        message = await visible(who, direction, fax_id)
        path = await images.image(message, number, width)
        headers = {"Cache-Control": "private, max-age=86400"}
        if turn is Turn.NONE:
            return FileResponse(path, media_type="image/png", headers=headers)
        png = await asyncio.to_thread(turned, path, turn)
        return Response(png, media_type="image/png", headers=headers)

    @app.get(PREFIX + "/sent/{fax_id}/report")
    async def report(fax_id: str, who: QueryArchives) -> Response:
        """The transmission report of a sent fax, as a one-page PDF."""
        message = await visible(who, Direction.OUT, fax_id)
        pdf = await transmission_report(service, images, message)
        name = f"report-{message.id:016x}.pdf"
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        return Response(pdf, media_type="application/pdf", headers=headers)

    @app.get(PREFIX + "/{folder}/{fax_id}/pdf")
    async def pdf(
        folder: str, fax_id: str, who: QueryArchives, inline: bool = False
    ) -> FileResponse:
        """The fax as PDF: a download, or ``inline`` for the browser to show and print."""
        direction = _folder_direction(folder)
        message = await visible(who, direction, fax_id)
        path = await service.archives.pdf_path(direction, message.id, who.name)
        return FileResponse(
            path,
            media_type="application/pdf",
            filename=f"{fax_id.lower()}.pdf",
            content_disposition_type="inline" if inline else "attachment",
        )


def _numbers(typed: str) -> list[str]:
    """The fax numbers typed in the Send form: one a line, or apart by commas."""
    return [number.strip() for number in _NUMBERS.split(typed) if number.strip()]


def _buttons(job: OutgoingJobInfo) -> list[str]:
    """The operations the job allows now, as the outbox's buttons."""
    return [name for name, (_, legal) in OPERATIONS.items() if legal in job.available_operations]


def _folder_direction(folder: str) -> Direction:
    try:
        return FOLDERS[folder]
    except KeyError:
        raise FolderNotFoundError(folder) from None


class FolderNotFoundError(FaxError):
    """A console address that names no page."""

    def __init__(self, folder: str) -> None:
        super().__init__(f"{text('error.not_found')} ({folder!r})")


def _next_page(wanted: str) -> str:
    """Where to go after signing in: a console page only (never another site)."""
    if wanted.startswith(PREFIX + "/") and not wanted.startswith("//") and "\\" not in wanted:
        return wanted
    return f"{PREFIX}/inbox"


def _set_cookie(request: Request, response: Response, name: str, value: str) -> None:
    """A console cookie: HTTP only, same site only, Secure over TLS, for ``/console``."""
    response.set_cookie(
        name,
        value,
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
