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
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, BinaryIO

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
from fastapi.responses import FileResponse, Response
from pydantic import ValidationError
from starlette.background import BackgroundTask

from openfax import __version__
from openfax.api import models as m
from openfax.api.administration import administration_routes
from openfax.api.auth import Authentication, Caller, caller
from openfax.api.errors import install, problems
from openfax.api.models import ID_PATTERN, ErrorModel, decode_cursor
from openfax.api.outbound_routing import outbound_routing_routes
from openfax.api.routing import routing_routes
from openfax.api.tokens import TokenFile
from openfax.errors import BodyError, SubmissionError
from openfax.model import DEFAULT_PREFETCH_SIZE, MAX_PAGE_SIZE, ServerEvents, parse_id
from openfax.service import EventType, FaxService, ServerEvent
from openfax.service.views import IncomingJobInfo, OutgoingJobInfo
from openfax.store import Direction

Who = Annotated[Caller, Depends(caller)]
"""Every route names its caller, so that none can run without authentication."""
IdParam = Annotated[
    str, PathParam(description="16 hex digits", json_schema_extra={"pattern": ID_PATTERN})
]
"""A job or message id; ``parse_id`` checks it, so a bad one is an InvalidIdError."""
ALL_EVENTS = int(ServerEvents(sum(ServerEvents)))
After = Annotated[str | None, Query(description="next_cursor of the page before")]
"""Where a paged listing goes on; a cursor the server did not make is an InvalidIdError."""
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]

EVENT_NAMES = {
    EventType.INCOMING_JOB_ADDED: "OnIncomingJobAdded",
    EventType.INCOMING_JOB_REMOVED: "OnIncomingJobRemoved",
    EventType.INCOMING_JOB_CHANGED: "OnIncomingJobChanged",
    EventType.OUTGOING_JOB_ADDED: "OnOutgoingJobAdded",
    EventType.OUTGOING_JOB_REMOVED: "OnOutgoingJobRemoved",
    EventType.OUTGOING_JOB_CHANGED: "OnOutgoingJobChanged",
    EventType.INCOMING_MESSAGE_ADDED: "OnIncomingMessageAdded",
    EventType.INCOMING_MESSAGE_REMOVED: "OnIncomingMessageRemoved",
    EventType.OUTGOING_MESSAGE_ADDED: "OnOutgoingMessageAdded",
    EventType.OUTGOING_MESSAGE_REMOVED: "OnOutgoingMessageRemoved",
    EventType.CONFIG_CHANGED: "OnGeneralServerConfigChanged",
    EventType.QUEUES_STATUS_CHANGED: "OnQueuesStatusChange",
    EventType.NEW_CALL: "OnNewCall",
    EventType.DEVICE_STATUS_CHANGED: "OnDeviceStatusChange",
    EventType.SERVER_SHUT_DOWN: "OnServerShutDown",
}
"""The FAXCOMEX ``IFaxServerNotify2`` method each event is delivered as."""
OUTBOUND_ROUTING_EVENTS = {
    "groups": "OnOutboundRoutingGroupsConfigChange",
    "rules": "OnOutboundRoutingRulesConfigChange",
}
"""The CONFIG_CHANGED events of outbound routing, by what changed (fsetCONFIG)."""
CONFIGURATION_EVENT_NAMES = {
    "outgoing_queue": "OnOutgoingQueueConfigChange",
    "outgoing_archive": "OnOutgoingArchiveConfigChange",
    "incoming_archive": "OnIncomingArchiveConfigChange",
}
"""The notification of a CONFIG event by the configuration it names (``configuration``);
the others are ``OnGeneralServerConfigChanged``."""

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorModel} for code in (400, 401, 403, 404, 409, 503)
}


def create_app(service: FaxService, tokens: TokenFile) -> Authentication:
    """The API over ``service``, behind authentication (see ``openfax.api.auth``)."""
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
    return Authentication(app, tokens)


def _routes(service: FaxService) -> APIRouter:
    api = APIRouter()

    # --- server, queues, activity ---------------------------------------------------------------

    @api.get("/server")
    async def get_server(who: Who) -> m.ServerModel:
        return m.ServerModel.of(service.server_info())

    @api.get("/activity")
    async def get_activity(who: Who) -> m.ActivityModel:
        return m.ActivityModel.of(await service.get_activity())

    @api.get("/outgoing-queue")
    async def get_outgoing_queue(who: Who) -> m.OutgoingQueueModel:
        return m.OutgoingQueueModel.of(service.get_queue_switches())

    @api.patch("/outgoing-queue")
    async def patch_outgoing_queue(change: m.OutgoingQueuePatch, who: Who) -> m.OutgoingQueueModel:
        switches = await service.set_queue_switches(
            outgoing_blocked=change.blocked, outgoing_paused=change.paused
        )
        return m.OutgoingQueueModel.of(switches)

    @api.get("/incoming-queue")
    async def get_incoming_queue(who: Who) -> m.IncomingQueueModel:
        return m.IncomingQueueModel.of(service.get_queue_switches())

    @api.patch("/incoming-queue")
    async def patch_incoming_queue(change: m.IncomingQueuePatch, who: Who) -> m.IncomingQueueModel:
        switches = await service.set_queue_switches(incoming_blocked=change.blocked)
        return m.IncomingQueueModel.of(switches)

    # --- submitting -----------------------------------------------------------------------------

    @api.post("/submissions", status_code=201)
    async def submit(
        who: Who,
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
        uploads = bodies or []
        saved: list[Path] = []
        try:
            paths = [await _save(upload, saved) for upload in uploads]
            cover_page = parsed.cover_page
            if cover_page_file is not None:
                cover_page = await _save(cover_page_file, saved)
            request = parsed.request(paths, cover_page, idempotency_key, who.name)
            if uploads and not request.document_name:
                # Named as the client named its first body, not by the upload's temporary file.
                first = Path(uploads[0].filename or "").name or "body0"
                request = dataclasses.replace(request, document_name=first)
            try:
                result = await service.connected_submit2(request)
            except BodyError as exc:
                name = uploads[exc.index].filename or f"body{exc.index}"
                raise BodyError(exc.index, name, exc.reason) from None
        finally:
            for path in saved:
                path.unlink(missing_ok=True)
        return m.SubmissionModel(submission_id=result.submission_id, job_ids=result.job_ids)

    # --- the outgoing queue's jobs --------------------------------------------------------------

    @api.get("/outgoing-jobs", response_model=m.OutgoingJobPageModel)
    async def get_outgoing_jobs(
        who: Who, after: After = None, limit: Limit = DEFAULT_PREFETCH_SIZE
    ) -> Response:
        """FAXCOMEX ``GetJobs()`` page by page: the first page (no ``after``) takes a snapshot
        of the queue and counts it; ``next_cursor`` reads on in that snapshot."""
        cursor = None if after is None else m.decode_queue_cursor(after)
        page = await service.get_outgoing_job_page(cursor, limit)
        return _json_response(m.queue_page_json(page, m.outgoing_job_json))

    @api.get("/outgoing-jobs/{job_id}", response_model=m.OutgoingJobModel)
    async def get_outgoing_job(job_id: IdParam, who: Who) -> Response:
        return _outgoing_job(await service.get_outgoing_job(parse_id(job_id)))

    @api.post("/outgoing-jobs/{job_id}/pause", response_model=m.OutgoingJobModel)
    async def pause_job(job_id: IdParam, who: Who) -> Response:
        return _outgoing_job(await service.pause_job(parse_id(job_id)))

    @api.post("/outgoing-jobs/{job_id}/resume", response_model=m.OutgoingJobModel)
    async def resume_job(job_id: IdParam, who: Who) -> Response:
        return _outgoing_job(await service.resume_job(parse_id(job_id)))

    @api.post("/outgoing-jobs/{job_id}/restart", response_model=m.OutgoingJobModel)
    async def restart_job(job_id: IdParam, who: Who) -> Response:
        return _outgoing_job(await service.restart_job(parse_id(job_id)))

    @api.post("/outgoing-jobs/{job_id}/cancel", response_model=m.OutgoingJobModel)
    async def cancel_job(job_id: IdParam, who: Who) -> Response:
        return _outgoing_job(await service.cancel_job(parse_id(job_id)))

    @api.get("/outgoing-jobs/{job_id}/tiff", response_class=FileResponse)
    async def get_job_tiff(job_id: IdParam, who: Who) -> FileResponse:
        """FAXCOMEX ``CopyTiff``: the job's TIFF-F, cover page and header lines included."""
        return await _tiff_copy(service.copy_tiff, job_id)

    @api.get("/outgoing-jobs/{job_id}/attempts")
    async def get_attempts(job_id: IdParam, who: Who) -> list[m.CallAttemptModel]:
        """The calls made for the job, each with its T.30 transcript."""
        attempts = await service.get_call_attempts(parse_id(job_id))
        return [m.CallAttemptModel.of(attempt) for attempt in attempts]

    # --- the incoming queue's jobs --------------------------------------------------------------

    @api.get("/incoming-jobs", response_model=m.IncomingJobPageModel)
    async def get_incoming_jobs(
        who: Who, after: After = None, limit: Limit = DEFAULT_PREFETCH_SIZE
    ) -> Response:
        """FAXCOMEX ``IncomingQueue.GetJobs()`` page by page, as ``/outgoing-jobs``."""
        cursor = None if after is None else m.decode_queue_cursor(after)
        page = await service.get_incoming_job_page(cursor, limit)
        return _json_response(m.queue_page_json(page, m.incoming_job_json))

    @api.get("/incoming-jobs/{job_id}", response_model=m.IncomingJobModel)
    async def get_incoming_job(job_id: IdParam, who: Who) -> Response:
        return _incoming_job(await service.get_incoming_job(parse_id(job_id)))

    @api.post("/incoming-jobs/{job_id}/cancel", response_model=m.IncomingJobModel)
    async def cancel_incoming_job(job_id: IdParam, who: Who) -> Response:
        return _incoming_job(await service.cancel_incoming_job(parse_id(job_id)))

    @api.get("/incoming-jobs/{job_id}/tiff", response_class=FileResponse)
    async def get_incoming_job_tiff(job_id: IdParam, who: Who) -> FileResponse:
        """FAXCOMEX ``IncomingJob.CopyTiff``: the received TIFF-F, once the call has ended."""
        return await _tiff_copy(service.copy_incoming_tiff, job_id)

    # --- archives -------------------------------------------------------------------------------

    for direction in Direction:
        _archive_routes(api, service, direction)

    # --- devices --------------------------------------------------------------------------------

    @api.get("/devices")
    async def get_devices(who: Who) -> list[m.DeviceModel]:
        return [m.DeviceModel.of(device) for device in await service.get_devices()]

    @api.get("/devices/{device_id}")
    async def get_device(device_id: int, who: Who) -> m.DeviceModel:
        return m.DeviceModel.of(await service.get_device(device_id))

    @api.patch("/devices/{device_id}")
    async def patch_device(device_id: int, change: m.DevicePatch, who: Who) -> m.DeviceModel:
        """FAXCOMEX ``Device.Save()`` of the properties given."""
        settings = {k: getattr(change, k) for k in change.model_fields_set}
        if not settings:
            return m.DeviceModel.of(await service.get_device(device_id))
        return m.DeviceModel.of(await service.save_device(device_id, **settings))

    @api.post("/devices/{device_id}/answer")
    async def answer_call(device_id: int, who: Who) -> m.AnswerModel:
        """FAXCOMEX ``AnswerCall()``: answer the call ringing on the device now."""
        return m.AnswerModel(accepted=service.answer_call(device_id))

    # --- events ---------------------------------------------------------------------------------

    @api.websocket("/events")
    async def events(
        socket: WebSocket,
        mask: Annotated[int, Query(ge=0, le=ALL_EVENTS)] = ALL_EVENTS,
        after: Annotated[int | None, Query(ge=0)] = None,
    ) -> None:
        """``ListenToServerEvents(mask)``: first ``{"type": "subscribed", "seq": n}``, then
        one JSON object per event, ``{seq, type, event, time, ...ids}``, in order; reconnect
        with ``after`` set to the last ``seq`` seen to resume without loss."""
        start = await service.last_event_seq() if after is None else after
        await socket.accept()
        await socket.send_json({"type": "subscribed", "seq": start, "mask": mask})
        tasks = {
            asyncio.create_task(_until_closed(socket)),
            asyncio.create_task(_forward(socket, service, ServerEvents(mask), start)),
        }
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for task in done:
            task.result()

    return api


def _archive_routes(api: APIRouter, service: FaxService, direction: Direction) -> None:
    """The routes of one archive: ``/v1/incoming-messages`` or ``/v1/outgoing-messages``."""
    side = "incoming" if direction is Direction.IN else "outgoing"
    prefix = f"/{side}-messages"
    listing = getattr(service, f"get_{side}_messages")
    tag: list[str | Enum] = [f"{side} archive"]

    @api.get(prefix, name=f"list_{direction.value}_messages", tags=tag)
    async def get_messages(
        who: Who, after: After = None, limit: Limit = DEFAULT_PREFETCH_SIZE
    ) -> m.MessagePageModel:
        """One page of the archive, oldest first (the FAXCOMEX message iterator's prefetch)."""
        cursor = None if after is None else decode_cursor(after)
        return m.MessagePageModel.of(await listing(cursor, limit))

    @api.get(prefix + "/{message_id}", name=f"get_{direction.value}_message", tags=tag)
    async def get_message(message_id: IdParam, who: Who) -> m.MessageModel:
        return m.MessageModel.of(await service.get_message(direction, parse_id(message_id)))

    @api.get(
        prefix + "/{message_id}/tiff",
        name=f"get_{direction.value}_message_tiff",
        tags=tag,
        response_class=FileResponse,
    )
    async def get_tiff(message_id: IdParam, who: Who) -> FileResponse:
        """FAXCOMEX ``CopyTiff``: the archived fax as TIFF-F."""
        path = await service.message_tiff_path(direction, parse_id(message_id))
        return FileResponse(path, media_type="image/tiff", filename=f"{message_id.lower()}.tif")

    @api.get(
        prefix + "/{message_id}/pdf",
        name=f"get_{direction.value}_message_pdf",
        tags=tag,
        response_class=FileResponse,
    )
    async def get_pdf(message_id: IdParam, who: Who) -> FileResponse:
        """The archived fax as a PDF, one page per fax page at its resolution."""
        path = await service.message_pdf_path(direction, parse_id(message_id))
        return FileResponse(
            path, media_type="application/pdf", filename=f"{message_id.lower()}.pdf"
        )

    @api.delete(
        prefix + "/{message_id}",
        name=f"delete_{direction.value}_message",
        tags=tag,
        status_code=204,
        response_class=Response,
    )
    async def delete_message(message_id: IdParam, who: Who) -> None:
        """FAXCOMEX ``Message.Delete()``."""
        await service.delete_message(direction, parse_id(message_id))


def _json_response(body: bytes) -> Response:
    """A JSON body made by the route itself (its ``response_model`` documents the shape)."""
    return Response(body, media_type="application/json")


def _incoming_job(job: IncomingJobInfo) -> Response:
    return _json_response(json.dumps(m.incoming_job_json(job)).encode())


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
        copy.unlink(missing_ok=True)
        raise
    return FileResponse(
        copy,
        media_type="image/tiff",
        filename=f"{job_id.lower()}.tif",
        background=BackgroundTask(copy.unlink, missing_ok=True),
    )


def _outgoing_job(job: OutgoingJobInfo) -> Response:
    return _json_response(json.dumps(m.outgoing_job_json(job)).encode())


async def _until_closed(socket: WebSocket) -> None:
    """Return when the client goes away (it sends nothing) or the server stops."""
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await socket.receive_text()


async def _forward(socket: WebSocket, service: FaxService, mask: ServerEvents, after: int) -> None:
    """Send the events after ``after`` as they are committed; close when the service stops."""
    stream: AsyncIterator[ServerEvent] = service.events(mask, after)
    async for event in stream:
        await socket.send_text(json.dumps(wire_event(event)))
    await socket.close(1001, "the fax service stopped")


def wire_event(event: ServerEvent) -> dict[str, Any]:
    """An event as the WebSocket carries it: its ids and status fields, and what it is."""
    name = EVENT_NAMES[event.type]
    if event.type is EventType.CONFIG_CHANGED and "device_id" in event.payload:
        name = "OnDevicesConfigChange"
    if event.type is EventType.CONFIG_CHANGED and "outbound_routing" in event.payload:
        name = OUTBOUND_ROUTING_EVENTS[event.payload["outbound_routing"]]
    if event.type is EventType.CONFIG_CHANGED and "configuration" in event.payload:
        name = CONFIGURATION_EVENT_NAMES.get(event.payload["configuration"], name)
    return {
        **event.payload,
        "seq": event.seq,
        "type": event.type.value,
        "event": name,
        "time": m.utc_text(event.created_at),
    }


async def _save(upload: UploadFile, saved: list[Path]) -> str:
    """Write an upload to a temporary file with its name's suffix (what the renderers may go
    by), noted in ``saved`` for removal; its path. No folder: making and removing one costs
    more than the whole copy of a one-page body."""
    suffix = Path(upload.filename or "").suffix
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
