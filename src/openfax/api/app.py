"""The HTTP/JSON application over the FaxService facade (``docs/design/api.md``).

Each route translates: ids and cursors in, the facade's call, typed models out. Rules stay
in the service; failures leave through ``openfax.api.errors`` in one shape.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import re
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from enum import Enum
from functools import partial
from pathlib import Path
from typing import Annotated, Any, BinaryIO, Literal, NoReturn

from fastapi import (
    APIRouter,
    Depends,
    FastAPI,
    File,
    Form,
    Header,
    Query,
    UploadFile,
    WebSocket,
    WebSocketDisconnect,
)
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, Response
from pydantic import ValidationError
from starlette.background import BackgroundTask

from openfax import __version__
from openfax.api import models as m
from openfax.api.accounts import accounts_routes
from openfax.api.address_book import address_book_routes
from openfax.api.administration import administration_routes
from openfax.api.auth import Authentication, Caller
from openfax.api.backup import backup_routes
from openfax.api.errors import fax_error_response, install, problems
from openfax.api.limits import RequestLimits, limited_routes
from openfax.api.models import ErrorModel, json_response, record_response
from openfax.api.operations import operations_routes
from openfax.api.options import options_routes
from openfax.api.outbound_routing import outbound_routing_routes
from openfax.api.rights import (
    Authenticated,
    ManageArchives,
    ManageConfig,
    ManageJobs,
    ManageReceiveFolder,
    QueryArchives,
    QueryConfig,
    QueryJobs,
    Requires,
    Submitter,
    check_owner,
    owner_filter,
    undeclared_routes,
)
from openfax.api.routing import routing_routes
from openfax.api.tokens import TokenFile
from openfax.errors import (
    AccessDeniedError,
    AccountNotFoundError,
    BodyError,
    MessageNotFoundError,
    SubmissionError,
)
from openfax.model import (
    CONTROL,
    CONTROL_CHARACTERS,
    DEFAULT_PREFETCH_SIZE,
    MAX_PAGE_SIZE,
    SUBMIT_RIGHTS,
    AccessRights2,
    CoverPageType,
    Direction,
    Priority,
    ServerEvents,
    parse_id,
)
from openfax.model.events import notification_of, payload_json
from openfax.model.job_table import (
    MAX_TABLE_PAGE_SIZE,
    TABLE_FORM,
    TABLE_MEDIA_TYPE,
    table_lines,
)
from openfax.model.paging import QueuePage, decode_cursor, decode_queue_cursor
from openfax.model.records import (
    ID_PATTERN,
    Activity,
    CallAttemptInfo,
    DeviceInfo,
    IncomingJobInfo,
    MessageInfo,
    OutgoingJobInfo,
    SubmitResult,
    utc_text,
)
from openfax.service import EventType, FaxService, ServerEvent
from openfax.service.hearing import (
    ACCOUNT_LISTENER,
    Hearing,
    incoming_faxes_are_public,
    sees_receive_folder,
)
from openfax.service.outgoing_queue import OutgoingQueue

MAX_FILE_NAME_LENGTH = 255
"""The longest name of an uploaded file, as most file systems take."""
_PLAIN_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,16}")
IdParam = Annotated[
    str, PathParam(description="16 hex digits", json_schema_extra={"pattern": ID_PATTERN})
]
"""A job or message id; ``parse_id`` checks it, so a bad one is an InvalidIdError."""
ALL_EVENTS = int(ServerEvents(sum(ServerEvents)))
After = Annotated[str | None, Query(description="next_cursor of the page before")]
"""Where a paged listing goes on; a cursor the server did not make is an InvalidIdError."""
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]
_R2 = AccessRights2
FormParam = Annotated[
    Literal["table"] | None,
    Query(
        description="table: each job as an array of values in the order of the page's "
        "columns, its submission's fields once a page (docs/design/api.md, Listings)"
    ),
]
"""A queue listing's form: None for ``OutgoingJobInfo`` objects, ``table`` for rows."""
AccountParam = Annotated[
    str | None, Query(max_length=256, description="only this account's faxes (its folders)")
]
"""An account's folders (FAXCOMEX ``FaxAccountFolders``): its own faxes only."""
MAX_SEARCH_LENGTH = 200
"""The longest ``q`` of a listing (its words bound the filters of the query)."""
SearchParam = Annotated[
    str | None,
    Query(
        max_length=MAX_SEARCH_LENGTH,
        # A NUL would reach PostgreSQL, which cannot hold one; no text read holds a control.
        pattern=f"^[^{CONTROL_CHARACTERS}]*$",
        description="only received faxes whose text (OCR) holds each of these words "
        "(apart by spaces; letter case aside)",
    ),
]
ReceiveFolderReader = Annotated[
    Caller, Depends(Requires(*SUBMIT_RIGHTS, _R2.QUERY_ARCHIVES, _R2.MANAGE_RECEIVE_FOLDER))
]
"""Reading the faxes being received (the server's receive folder)."""
SUBMIT_RIGHT = {
    Priority.LOW: _R2.SUBMIT_LOW,
    Priority.NORMAL: _R2.SUBMIT_NORMAL,
    Priority.HIGH: _R2.SUBMIT_HIGH,
}
"""The right a submission of each priority needs (SUBMIT_HIGH implies the others)."""

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorModel} for code in (400, 401, 403, 404, 409, 413, 503)
}


def create_app(service: FaxService, tokens: TokenFile) -> Authentication:
    """The API over ``service``, behind authentication (see ``openfax.api.auth``) and the
    request limits (``openfax.api.limits``), which check a route's rights before its body is
    read."""
    app = FastAPI(
        title="OpenFax",
        version=__version__,
        description="The OpenFax wire protocol: the FAXCOMEX object model over HTTP.",
    )
    install(app)
    app.include_router(_routes(service), prefix="/v1", responses=ERRORS)
    app.include_router(routing_routes(service), prefix="/v1", responses=ERRORS)
    app.include_router(outbound_routing_routes(service), prefix="/v1", responses=ERRORS)
    app.include_router(administration_routes(service), prefix="/v1", responses=ERRORS)
    app.include_router(options_routes(service), prefix="/v1", responses=ERRORS)
    app.include_router(accounts_routes(service), prefix="/v1", responses=ERRORS)
    app.include_router(backup_routes(service), prefix="/v1", responses=ERRORS)
    app.include_router(address_book_routes(service), prefix="/v1", responses=ERRORS)
    app.include_router(operations_routes(service), responses=ERRORS)
    missing = undeclared_routes(app)
    if missing:
        raise RuntimeError(f"routes without a declared access right: {missing}")
    app.add_middleware(RequestLimits, routes=limited_routes(app), config=service.config.api)
    return Authentication(app, service, tokens)


def _routes(service: FaxService) -> APIRouter:
    api = APIRouter()

    # --- server, queues, activity ---------------------------------------------------------------

    @api.get("/server")
    async def get_server(who: Authenticated) -> m.ServerModel:
        return m.ServerModel.of(service.options.server_info())

    @api.get("/activity")
    async def get_activity(who: QueryConfig) -> Activity:
        return await service.activity.get_activity()

    @api.get("/outgoing-queue")
    async def get_outgoing_queue(who: QueryConfig) -> m.OutgoingQueueModel:
        return m.OutgoingQueueModel.of(service.options.get_queue_switches())

    @api.patch("/outgoing-queue")
    async def patch_outgoing_queue(
        change: m.OutgoingQueuePatch, who: ManageConfig
    ) -> m.OutgoingQueueModel:
        switches = await service.options.set_queue_switches(
            outgoing_blocked=change.blocked, outgoing_paused=change.paused, actor=who.name
        )
        return m.OutgoingQueueModel.of(switches)

    @api.get("/incoming-queue")
    async def get_incoming_queue(who: QueryConfig) -> m.IncomingQueueModel:
        return m.IncomingQueueModel.of(service.options.get_queue_switches())

    @api.patch("/incoming-queue")
    async def patch_incoming_queue(
        change: m.IncomingQueuePatch, who: ManageConfig
    ) -> m.IncomingQueueModel:
        switches = await service.options.set_queue_switches(
            incoming_blocked=change.blocked, actor=who.name
        )
        return m.IncomingQueueModel.of(switches)

    # --- submitting -----------------------------------------------------------------------------

    @api.post("/submissions", status_code=201)
    async def submit(
        who: Submitter,
        document: Annotated[str, Form(description="the FaxDocument as JSON (DocumentModel)")],
        bodies: Annotated[list[UploadFile] | None, File(description="the bodies, in order")] = None,
        cover_page_file: Annotated[UploadFile | None, File()] = None,
        idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
    ) -> m.SubmissionModel:
        """FAXCOMEX ``ConnectedSubmit2``: queue the document, one job per recipient."""
        try:
            parsed = m.DocumentModel.model_validate_json(document)
        except ValidationError as exc:
            raise SubmissionError(f"document: {problems(exc.errors())}") from None
        result = await submit_uploads(
            service, who, parsed, bodies or [], cover_page_file, idempotency_key
        )
        return m.SubmissionModel(submission_id=result.submission_id, job_ids=result.job_ids)

    # --- the outgoing queue's jobs --------------------------------------------------------------

    @api.get(
        "/outgoing-jobs",
        response_model=m.OutgoingJobPageModel,
        responses={200: {"content": {TABLE_MEDIA_TYPE: {"schema": m.TABLE_FORM_SCHEMA}}}},
    )
    async def get_outgoing_jobs(
        who: QueryJobs,
        after: After = None,
        limit: Annotated[int, Query(ge=1, le=MAX_TABLE_PAGE_SIZE)] = DEFAULT_PREFETCH_SIZE,
        account: AccountParam = None,
        form: FormParam = None,
    ) -> Response:
        """FAXCOMEX ``GetJobs()`` page by page: the first page (no ``after``) takes a snapshot
        of the queue and counts it; ``next_cursor`` reads on in that snapshot. A caller
        without far2QUERY_OUT_JOBS sees only its own jobs; ``account`` narrows to one
        account's (``FaxAccountOutgoingQueue``). ``form=table``: the same page in JSON
        Lines, a row a job (up to 10,000 of them; ``openfax.model.job_table``), what the
        client reads."""
        if form is None and limit > MAX_PAGE_SIZE:
            raise RequestValidationError(
                [{"loc": ("query", "limit"), "type": "less_than_equal", "input": limit,
                  "msg": f"Input should be less than or equal to {MAX_PAGE_SIZE}"}]
            )  # fmt: skip
        cursor = None if after is None else decode_queue_cursor(after)
        owner = await folder_owner(service, who, account, _R2.QUERY_OUT_JOBS)
        if form == TABLE_FORM:
            table = await service.outgoing_queue.get_job_table(cursor, limit, owner=owner)
            return Response(table_lines(table), media_type=TABLE_MEDIA_TYPE)
        page = await service.outgoing_queue.get_job_page(cursor, limit, owner=owner)
        return json_response(m.queue_page_json(page, m.OutgoingJobPageModel))

    @api.get("/outgoing-jobs/{job_id}", response_model=OutgoingJobInfo)
    async def get_outgoing_job(job_id: IdParam, who: QueryJobs) -> Response:
        job = await service.outgoing_queue.get_job(parse_id(job_id))
        check_owner(who, job.owner_id, _R2.QUERY_OUT_JOBS, f"outgoing job {job_id}")
        return _outgoing_job(job)

    operations = [
        ("pause", OutgoingQueue.pause_job),
        ("resume", OutgoingQueue.resume_job),
        ("restart", OutgoingQueue.restart_job),
        ("cancel", OutgoingQueue.cancel_job),
    ]
    for operation, operate in operations:
        _job_operation_route(api, service, operation, operate)

    @api.get("/outgoing-jobs/{job_id}/tiff", response_class=FileResponse)
    async def get_job_tiff(job_id: IdParam, who: QueryJobs) -> FileResponse:
        """FAXCOMEX ``CopyTiff``: the job's TIFF-F, cover page and header lines included."""
        await check_job_owner(service, who, job_id, _R2.QUERY_OUT_JOBS)
        return await _tiff_copy(partial(service.outgoing_queue.copy_tiff, actor=who.name), job_id)

    @api.get("/outgoing-jobs/{job_id}/attempts", response_model=list[CallAttemptInfo])
    async def get_attempts(job_id: IdParam, who: QueryJobs) -> Response:
        """The calls made for the job, each with its T.30 transcript."""
        try:
            await check_job_owner(service, who, job_id, _R2.QUERY_OUT_JOBS)
        except MessageNotFoundError:
            message = await service.archives.get_message(Direction.OUT, parse_id(job_id))
            check_owner(who, message.owner_id, _R2.QUERY_ARCHIVES, f"outgoing message {job_id}")
        attempts = await service.outgoing_queue.get_call_attempts(parse_id(job_id))
        return record_response(m.CALL_ATTEMPTS, attempts)

    # --- the incoming queue's jobs --------------------------------------------------------------

    @api.get("/incoming-jobs", response_model=m.IncomingJobPageModel)
    async def get_incoming_jobs(
        who: ReceiveFolderReader,
        after: After = None,
        limit: Limit = DEFAULT_PREFETCH_SIZE,
        q: SearchParam = None,
    ) -> Response:
        """FAXCOMEX ``IncomingQueue.GetJobs()`` page by page, as ``/outgoing-jobs``; empty
        for an account that may not see the receive folder (incoming faxes not public).
        ``q``: only the faxes whose text holds its words (pass it with every page)."""
        cursor = None if after is None else decode_queue_cursor(after)
        if not sees_receive_folder(service, who.rights):
            return json_response(m.queue_page_json(QueuePage([], 0, None), m.IncomingJobPageModel))
        words = tuple(q.split()) if q else ()
        page = await service.incoming_queue.get_job_page(cursor, limit, words=words)
        return json_response(m.queue_page_json(page, m.IncomingJobPageModel))

    @api.get("/incoming-jobs/{job_id}", response_model=IncomingJobInfo)
    async def get_incoming_job(job_id: IdParam, who: ReceiveFolderReader) -> Response:
        check_receive_folder(service, who)
        return _incoming_job(await service.incoming_queue.get_job(parse_id(job_id)))

    @api.post("/incoming-jobs/{job_id}/cancel", response_model=IncomingJobInfo)
    async def cancel_incoming_job(job_id: IdParam, who: ManageReceiveFolder) -> Response:
        return _incoming_job(await service.incoming_queue.cancel_job(parse_id(job_id), who.name))

    @api.get("/incoming-jobs/{job_id}/tiff", response_class=FileResponse)
    async def get_incoming_job_tiff(job_id: IdParam, who: ReceiveFolderReader) -> FileResponse:
        """FAXCOMEX ``IncomingJob.CopyTiff``: the received TIFF-F, once the call has ended."""
        check_receive_folder(service, who)
        return await _tiff_copy(partial(service.incoming_queue.copy_tiff, actor=who.name), job_id)

    # --- archives -------------------------------------------------------------------------------

    for direction in Direction:
        _archive_routes(api, service, direction)

    # --- devices --------------------------------------------------------------------------------

    @api.get("/devices")
    async def get_devices(who: QueryConfig) -> list[DeviceInfo]:
        return await service.devices.get_devices()

    @api.get("/devices/{device_id}")
    async def get_device(device_id: m.DeviceIdParam, who: QueryConfig) -> DeviceInfo:
        return await service.devices.get_device(device_id)

    @api.patch("/devices/{device_id}")
    async def patch_device(
        device_id: m.DeviceIdParam, change: m.DevicePatch, who: ManageConfig
    ) -> DeviceInfo:
        """FAXCOMEX ``Device.Save()`` of the properties given."""
        settings = {k: getattr(change, k) for k in change.model_fields_set}
        if not settings:
            return await service.devices.get_device(device_id)
        return await service.devices.save_device(device_id, **settings)

    @api.post("/devices/{device_id}/answer")
    async def answer_call(device_id: m.DeviceIdParam, who: ManageConfig) -> m.AnswerModel:
        """FAXCOMEX ``AnswerCall()``: answer the call ringing on the device now."""
        return m.AnswerModel(accepted=await service.devices.answer_call(device_id))

    # --- events ---------------------------------------------------------------------------------

    @api.websocket("/events")
    async def events(
        socket: WebSocket,
        who: Authenticated,
        mask: Annotated[int, Query(ge=0, le=ALL_EVENTS)] = ALL_EVENTS,
        after: Annotated[int | None, Query(ge=0, le=m.MAX_INT64)] = None,
        account: AccountParam = None,
    ) -> None:
        """``ListenToServerEvents(mask)``: first ``{"type": "subscribed", "seq": n}``, then
        one JSON object per event, ``{seq, type, event, time, ...ids}``, in order; reconnect
        with ``after`` set to the last ``seq`` seen to resume without loss. With
        ``account``, ``FaxAccount.ListenToAccountEvents``: that account's faxes only
        (another account's need far2QUERY_OUT_JOBS and far2QUERY_ARCHIVES)."""
        account_id = None
        if account is not None:
            what = f"the events of account {account!r}"
            try:
                account_id = await _account_id(service, who, account, ACCOUNT_LISTENER, what)
            except (AccessDeniedError, AccountNotFoundError) as exc:
                await socket.send_denial_response(fax_error_response(exc))
                return
        uid = who.uid if who.local else None
        hearing = Hearing(
            service,
            who.name,
            who.account_id,
            who.rights,
            uid=uid,
            token=who.token,
            account=account_id,
        )
        start = await service.listening.last_seq() if after is None else after
        await socket.accept()
        await socket.send_json({"type": "subscribed", "seq": start, "mask": mask})
        # The connection's two halves end together: the first to end (or fail) ends both.
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(_ending(_until_closed(socket)))
                group.create_task(
                    _ending(_forward(socket, service, ServerEvents(mask), start, hearing))
                )
        except* _StreamEnded:
            pass

    return api


def _job_operation_route(
    api: APIRouter,
    service: FaxService,
    operation: str,
    operate: Callable[[OutgoingQueue, int, str], Awaitable[OutgoingJobInfo]],
) -> None:
    """``POST /v1/outgoing-jobs/{job_id}/<operation>``: FAXCOMEX ``Pause()``, ``Resume()``,
    ``Restart()`` or ``Cancel()`` of an outgoing job (``operate``, a method of the running
    service's queue), by its owner or a job manager; the answer is the job as it then
    stands."""

    async def operate_job(job_id: IdParam, who: ManageJobs) -> Response:
        await check_job_owner(service, who, job_id, _R2.MANAGE_OUT_JOBS)
        return _outgoing_job(await operate(service.outgoing_queue, parse_id(job_id), who.name))

    path = f"/outgoing-jobs/{{job_id}}/{operation}"
    api.post(path, response_model=OutgoingJobInfo, name=f"{operation}_job")(operate_job)


def _archive_routes(api: APIRouter, service: FaxService, direction: Direction) -> None:
    """The routes of one archive: ``/v1/incoming-messages`` or ``/v1/outgoing-messages``."""
    side = "incoming" if direction is Direction.IN else "outgoing"
    prefix = f"/{side}-messages"
    tag: list[str | Enum] = [f"{side} archive"]

    @api.get(
        prefix,
        name=f"list_{direction.value}_messages",
        tags=tag,
        response_model=m.MessagePageModel,
    )
    async def get_messages(
        who: QueryArchives,
        after: After = None,
        limit: Limit = DEFAULT_PREFETCH_SIZE,
        account: AccountParam = None,
        q: SearchParam = None,
    ) -> Response:
        """One page of the archive, oldest first (the FAXCOMEX message iterator's prefetch):
        the caller's own faxes, or everyone's with far2QUERY_ARCHIVES; ``account`` narrows
        to one account's (``FaxAccountIncomingArchive`` / ``OutgoingArchive``). Received
        faxes are seen by every account while they are public, else by the account each
        is assigned to (and holders of far2MANAGE_RECEIVE_FOLDER). ``q``: only the faxes
        whose text (OCR) holds its words; sent faxes have none (pass it with every page)."""
        cursor = None if after is None else decode_cursor(after)
        owner = None
        if direction is Direction.OUT or not sees_receive_folder(service, who.rights):
            owner = await folder_owner(service, who, account, _R2.QUERY_ARCHIVES)
        words = tuple(q.split()) if q else ()
        page = await service.archives.get_messages(
            direction, cursor, limit, owner=owner, words=words
        )
        return json_response(m.message_page_json(page))

    @api.get(f"/{side}-archive", name=f"get_{direction.value}_archive", tags=tag)
    async def get_archive(who: QueryArchives, account: AccountParam = None) -> m.ArchiveModel:
        """FAXCOMEX ``SizeLow/High`` of the archive: the bytes of the faxes the listing
        would show (``account``: of that account's, its ``FaxAccount...Archive``)."""
        owner = None
        if direction is Direction.OUT or not sees_receive_folder(service, who.rights):
            owner = await folder_owner(service, who, account, _R2.QUERY_ARCHIVES)
        return m.ArchiveModel(size=await service.archives.size(direction, owner=owner))

    async def visible(message_id: str, who: Caller, *, manage: bool = False) -> None:
        """Refuse a caller who may not see the message (or delete it, ``manage``)."""
        message = await service.archives.get_message(direction, parse_id(message_id))
        check_message(who, message, manage=manage, public=incoming_faxes_are_public(service))

    @api.get(
        prefix + "/{message_id}",
        name=f"get_{direction.value}_message",
        tags=tag,
        response_model=MessageInfo,
    )
    async def get_message(message_id: IdParam, who: QueryArchives) -> Response:
        await visible(message_id, who)
        message = await service.archives.get_message(direction, parse_id(message_id), who.name)
        return record_response(m.MESSAGE, message)

    @api.patch(
        prefix + "/{message_id}",
        name=f"patch_{direction.value}_message",
        tags=tag,
        response_model=MessageInfo,
    )
    async def patch_message(
        message_id: IdParam, change: m.MessagePatch, who: QueryArchives
    ) -> Response:
        """FAXCOMEX ``Message.Save()``: the read flag, by whoever sees the fax; on a received
        fax also what a routing assistant fills in (far2MANAGE_RECEIVE_FOLDER)."""
        await visible(message_id, who)
        changes = change.model_dump(exclude_unset=True, exclude_none=True)
        if set(changes) - {"read"} and not who.holds(_R2.MANAGE_RECEIVE_FOLDER):
            raise AccessDeniedError(
                f"account {who.name!r} lacks far2MANAGE_RECEIVE_FOLDER to change "
                f"{', '.join(sorted(set(changes) - {'read'}))} of a received fax"
            )
        saved = await service.archives.save_message(
            direction, parse_id(message_id), changes, who.name
        )
        return record_response(m.MESSAGE, saved)

    @api.get(
        prefix + "/{message_id}/tiff",
        name=f"get_{direction.value}_message_tiff",
        tags=tag,
        response_class=FileResponse,
    )
    async def get_tiff(message_id: IdParam, who: QueryArchives) -> FileResponse:
        """FAXCOMEX ``CopyTiff``: the archived fax as TIFF-F."""
        await visible(message_id, who)
        path = await service.archives.tiff_path(direction, parse_id(message_id), who.name)
        return FileResponse(path, media_type="image/tiff", filename=f"{message_id.lower()}.tif")

    @api.get(
        prefix + "/{message_id}/pdf",
        name=f"get_{direction.value}_message_pdf",
        tags=tag,
        response_class=FileResponse,
    )
    async def get_pdf(message_id: IdParam, who: QueryArchives) -> FileResponse:
        """The archived fax as a PDF, one page per fax page at its resolution."""
        await visible(message_id, who)
        path = await service.archives.pdf_path(direction, parse_id(message_id), who.name)
        return FileResponse(
            path, media_type="application/pdf", filename=f"{message_id.lower()}.pdf"
        )

    if direction is Direction.IN:

        @api.get(
            prefix + "/{message_id}/text",
            name="get_in_message_text",
            tags=tag,
            response_model=m.MessageTextModel,
        )
        async def get_text(message_id: IdParam, who: QueryArchives) -> m.MessageTextModel:
            """What OCR read of the received fax (empty, ``read_at`` null, until it is read)."""
            await visible(message_id, who)
            read = await service.archives.get_text(parse_id(message_id), who.name)
            if read is None:
                return m.MessageTextModel(text="", error="", read_at=None)
            return m.MessageTextModel(text=read.text, error=read.error, read_at=read.read_at)

    @api.delete(
        prefix + "/{message_id}",
        name=f"delete_{direction.value}_message",
        tags=tag,
        status_code=204,
        response_class=Response,
    )
    async def delete_message(message_id: IdParam, who: ManageArchives) -> None:
        """FAXCOMEX ``Message.Delete()``: one's own sent fax, or any with far2MANAGE_ARCHIVES
        (received faxes: far2MANAGE_RECEIVE_FOLDER too)."""
        await visible(message_id, who, manage=True)
        await service.archives.delete_message(direction, parse_id(message_id), who.name)


async def submit_uploads(
    service: FaxService,
    who: Caller,
    parsed: m.DocumentModel,
    uploads: list[UploadFile],
    cover_page_file: UploadFile | None,
    idempotency_key: str | None,
) -> SubmitResult:
    """FAXCOMEX ``ConnectedSubmit2`` of uploaded files for ``who`` (the API's submissions
    and the console's Send): the right the priority needs checked, the uploads saved to
    temporary files for the service and removed after, a body's error naming the client's
    file rather than the server's copy."""
    needed = SUBMIT_RIGHT[parsed.priority]
    if not who.holds(needed):
        raise AccessDeniedError(
            f"account {who.name!r} lacks far2{needed.name} for a fax of "
            f"{parsed.priority.name.lower()} priority"
        )
    if parsed.cover_page_type is CoverPageType.LOCAL and cover_page_file is None:
        raise SubmissionError(
            "a personal cover page (cover_page_type LOCAL) is sent as the cover_page_file "
            "part: the server reads no file a client names"
        )
    for index, upload in enumerate(uploads):
        check_file_name(upload, f"bodies.{index}")
    if cover_page_file is not None:
        check_file_name(cover_page_file, "cover_page_file")
    saved: list[Path] = []
    try:
        paths = [await save_upload(upload, saved) for upload in uploads]
        cover_page = parsed.cover_page
        if cover_page_file is not None:
            cover_page = await save_upload(cover_page_file, saved)
        request = parsed.request(paths, cover_page, idempotency_key, who.name, who.account_id)
        if parsed.recipient_groups:
            members = await service.address_book.group_recipients(
                who.account_id, who.rights, parsed.recipient_groups
            )
            request = dataclasses.replace(request, recipients=[*request.recipients, *members])
        if uploads and not request.document_name:
            # Named as the client named its first body, not by the upload's temporary file.
            first = Path(uploads[0].filename or "").name or "body0"
            request = dataclasses.replace(request, document_name=first)
        try:
            result = await service.outgoing_queue.connected_submit2(request)
        except BodyError as exc:
            name = uploads[exc.index].filename or f"body{exc.index}"
            # A reason that quotes the file (a library's message) names the client's
            # file too, not the server's temporary copy.
            reason = exc.reason.replace(str(paths[exc.index]), name)
            raise BodyError(exc.index, name, reason) from None
    finally:
        for path in saved:
            path.unlink(missing_ok=True)
    return result


async def folder_owner(
    service: FaxService, who: Caller, account: str | None, everyone: AccessRights2
) -> int | None:
    """The id of the account whose faxes a listing shows: ``account``'s when named
    (another's needs ``everyone``), else all when the caller holds ``everyone``, else the
    caller's own."""
    if account is None:
        return owner_filter(who, everyone)
    return await _account_id(service, who, account, everyone, f"the folders of account {account!r}")


async def _account_id(
    service: FaxService, who: Caller, account: str, everyone: AccessRights2, what: str
) -> int:
    """The id of the account named ``account``: the caller's own, or, for a caller holding
    ``everyone``, any account's (AccountNotFoundError if there is none)."""
    if account == who.name:
        return who.account_id
    check_owner(who, None, everyone, what)
    return (await service.accounts.get_account(account)).id


async def check_job_owner(
    service: FaxService, who: Caller, job_id: str, everyone: AccessRights2
) -> None:
    """Refuse a caller who neither owns the outgoing job nor holds ``everyone``."""
    job = await service.outgoing_queue.get_job(parse_id(job_id))
    check_owner(who, job.owner_id, everyone, f"outgoing job {job_id}")


def check_receive_folder(service: FaxService, who: Caller) -> None:
    """Refuse a caller who may not see the faxes being received."""
    if not sees_receive_folder(service, who.rights):
        raise AccessDeniedError(
            f"incoming faxes are not public; account {who.name!r} lacks "
            "far2MANAGE_RECEIVE_FOLDER to see the faxes being received"
        )


def check_message(who: Caller, message: MessageInfo, *, manage: bool, public: bool) -> None:
    """Refuse a caller who may not see (``manage``: delete) an archived fax: a sent fax is
    its sender's; a received one is every account's to see while incoming faxes are
    public, else its assignee's; holders of far2MANAGE_RECEIVE_FOLDER see and delete any
    received fax, of far2QUERY_ARCHIVES / far2MANAGE_ARCHIVES any fax."""
    everyone = _R2.MANAGE_ARCHIVES if manage else _R2.QUERY_ARCHIVES
    kind = f"{'incoming' if message.direction is Direction.IN else 'outgoing'} message"
    if message.direction is Direction.IN and (
        who.holds(_R2.MANAGE_RECEIVE_FOLDER) or (public and not manage)
    ):
        return
    check_owner(who, message.owner_id, everyone, f"{kind} {message.id:016x}")


def _incoming_job(job: IncomingJobInfo) -> Response:
    return record_response(m.INCOMING_JOB, job)


async def _tiff_copy(
    copy_tiff: Callable[[int, Path], Awaitable[None]], job_id: str
) -> FileResponse:
    """A job's TIFF-F as ``copy_tiff`` writes it, sent from a temporary copy removed after."""
    fd, name = tempfile.mkstemp(prefix="openfax-job-", suffix=".tif")
    os.close(fd)
    copy = Path(name)
    try:
        await copy_tiff(parse_id(job_id), copy)
    except BaseException:
        copy.unlink(missing_ok=True)  # noqa: ASYNC240 (a local temporary file, also when cancelled)
        raise
    return FileResponse(
        copy,
        media_type="image/tiff",
        filename=f"{job_id.lower()}.tif",
        background=BackgroundTask(copy.unlink, missing_ok=True),
    )


def _outgoing_job(job: OutgoingJobInfo) -> Response:
    return record_response(m.OUTGOING_JOB, job)


class _StreamEnded(Exception):
    """One half of an event stream's connection ended: the other is to end too."""


async def _ending(half: Awaitable[None]) -> NoReturn:
    """Run ``half`` of an event stream's connection, then end its task group."""
    await half
    raise _StreamEnded


async def _until_closed(socket: WebSocket) -> None:
    """Return when the client goes away (it sends nothing) or the server stops."""
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await socket.receive_text()


async def _forward(
    socket: WebSocket, service: FaxService, mask: ServerEvents, after: int, hearing: Hearing
) -> None:
    """Send the events after ``after`` that the caller may hear as they are committed;
    close when the service stops, or when the caller's account is removed (its rights are
    read again at each change of accounts or rights, whatever ``mask`` asks for)."""
    security = EventType.CONFIG_CHANGED.mask
    stream: AsyncIterator[ServerEvent] = service.listening.events(mask | security, after)
    async for event in stream:
        if hearing.changes_rights(event):
            refused = await hearing.refresh()
            if refused is not None:
                await socket.close(POLICY_VIOLATION, refused)
                return
        if event.mask & mask and await hearing.allows(event):
            await socket.send_text(json.dumps(wire_event(event)))
    await socket.close(1001, "the fax service stopped")


POLICY_VIOLATION = 1008
"""The WebSocket close code of a stream whose account was removed or lost its right."""


def wire_event(event: ServerEvent) -> dict[str, Any]:
    """An event as the WebSocket carries it: its ids and status fields, and what it is."""
    return {
        **payload_json(event.payload),
        "seq": event.seq,
        "type": event.type.value,
        "event": notification_of(event.payload),
        "time": utc_text(event.created_at),
    }


def check_file_name(upload: UploadFile, part: str) -> None:
    """SubmissionError naming the ``part`` whose file name no file could have: longer than
    a file system takes, or with a control character (a NUL ends a name in C)."""
    name = upload.filename or ""
    if len(name) > MAX_FILE_NAME_LENGTH:
        raise SubmissionError(
            f"{part}: the file name has {len(name):,} characters, at most {MAX_FILE_NAME_LENGTH}"
        )
    if CONTROL.search(name):
        raise SubmissionError(f"{part}: the file name has a control character")


async def save_upload(upload: UploadFile, saved: list[Path]) -> str:
    """Write an upload to a temporary file with its name's suffix when that is a plain one
    (for whoever reads the folder), noted in ``saved`` for removal; its path. No folder:
    making and removing one costs more than the whole copy of a one-page body."""
    suffix = Path(upload.filename or "").suffix
    if not _PLAIN_SUFFIX.fullmatch(suffix):
        suffix = ""
    path = await asyncio.to_thread(_write_upload, upload.file, suffix)
    saved.append(path)
    return str(path)


def _write_upload(source: BinaryIO, suffix: str) -> Path:
    fd, name = tempfile.mkstemp(prefix="openfax-upload-", suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(source, out)
    except BaseException:
        os.unlink(name)
        raise
    return Path(name)
