"""The SMTP listener of the e-mail gateway (aiosmtpd), inside ``openfaxd``.

Who may fax is settled at ``MAIL FROM``: a sender signed in with an OpenFax account's
password (AUTH, offered only after STARTTLS), or an address or domain of the allow-list
(``[email_gateway] senders``) mapped to an account; the account must hold the right to
submit, and a sender past ``messages_per_minute`` is told to come back later. Each
``RCPT TO`` must be a fax number before the ``@``. The message is written to a private
spool file as it arrives (``max_message_mb`` enforced line by line, announced with SIZE),
split into its parts on disk, and submitted through the outgoing queue as the account,
with a delivery receipt by e-mail to the sender when the receipt options allow it; the
reply to DATA says whether it was queued or why not. Every refusal (any 4xx or 5xx reply)
is logged and written to the audit trail.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import socket
import tempfile
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any, AnyStr, BinaryIO, cast

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from openfax.errors import (
    AccountNotFoundError,
    BodyError,
    ConfigError,
    FaxError,
    MailRefusedError,
    QueueBlockedError,
    SignInThrottledError,
    SubmissionError,
)
from openfax.gateways.email.fax_mail import FaxMail, fax_of
from openfax.gateways.email.mime import split_message
from openfax.logfilter import limit_rate
from openfax.model import CONTROL, AccessRights2, CoverPageType, ReceiptType, format_id
from openfax.model.numbers import WHAT_A_NUMBER_IS, is_phone_number
from openfax.model.records import Recipient, Sender, SubmitResult
from openfax.service import FaxService
from openfax.service.accounts import Principal
from openfax.service.audit import SERVICE_ACTOR, AuditAction, record_read
from openfax.service.config_file import EmailGatewayConfig, listen_address
from openfax.service.receipt_options import check_receipt_address
from openfax.service.submission import SubmitRequest
from openfax.tls import server_context

_logger = logging.getLogger(__name__)

AIOSMTPD_LOGGER = "mail.log"
WINDOW = 60.0
"""Seconds over which ``messages_per_minute`` counts a sender's messages."""
SENDERS_KEPT = 10_000
"""Senders the rate remembers before it forgets those quiet for a minute."""
TEXT_PARTS = 8
"""Leaf parts a message may have besides its attachments (its texts, inline images)."""
AUDIT_BACKLOG = 1000
"""Refusals waiting to be written to the audit trail at most; a flood past it is counted
in the log instead."""
MAX_AUDIT_TEXT = 200
"""Characters of an address or reply the audit trail keeps."""
_SUBMIT = AccessRights2.SUBMIT_NORMAL
MAX_REPLY = 510
NO_ROOM = "the message could not be kept on the server (its disk): try again later"


class FaxEnvelope(Envelope):
    """aiosmtpd's envelope with the account the message is faxed as (set at MAIL FROM)."""

    def __init__(self) -> None:
        super().__init__()
        self.account: Principal | None = None
        self.sender_given = ""
        """The address of the last MAIL FROM, taken or not (what a refusal names)."""


class SenderRate:
    """Messages per sender in the last minute: ``admit`` counts one and says whether it
    is within ``per_minute``. Senders quiet for a minute are forgotten."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._times: dict[str, deque[float]] = {}

    def admit(self, sender: str) -> bool:
        now = self.clock()
        if len(self._times) > SENDERS_KEPT:
            self._times = {k: v for k, v in self._times.items() if v and v[-1] > now - WINDOW}
        times = self._times.setdefault(sender, deque())
        while times and times[0] <= now - WINDOW:
            times.popleft()
        if len(times) >= self.per_minute:
            return False
        times.append(now)
        return True


@dataclasses.dataclass(frozen=True)
class _Refusal:
    """A refusal waiting for the audit trail: who (the account, else ``openfaxd``), the
    sender and the client's address it concerned, and the reply."""

    actor: str
    sender: str
    peer: str
    reply: str


class EmailGateway:
    """aiosmtpd's handler: the gateway's rules over the running ``service``."""

    def __init__(self, service: FaxService, config: EmailGatewayConfig) -> None:
        self.service = service
        self.config = config
        self.rate = SenderRate(config.messages_per_minute)
        self.connections = 0
        self.slots = asyncio.Semaphore(config.max_concurrent_messages)
        self.refusals: asyncio.Queue[_Refusal] = asyncio.Queue(AUDIT_BACKLOG)
        self.unaudited = 0
        self.senders = {entry.address.lower(): entry.account for entry in config.senders}

    # --- MAIL FROM and RCPT TO ---------------------------------------------------------------

    async def handle_MAIL(
        self,
        server: SMTP,
        session: Session,
        envelope: FaxEnvelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        """Settle the account the message is faxed as, or refuse the sender."""
        envelope.sender_given = address
        try:
            account = await self._account(session, address)
        except MailRefusedError as exc:
            return exc.reply
        key = account.name if session.authenticated else address.lower()
        if not self.rate.admit(key):
            return (
                f"450 4.7.1 {key} has sent {self.config.messages_per_minute} messages in the "
                "last minute, the most this gateway takes (messages_per_minute): try again later"
            )
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        envelope.account = account
        return "250 2.1.0 OK"

    async def _account(self, session: Session, address: str) -> Principal:
        """The signed-in account, or the one the allow-list maps ``address`` to; it must
        hold the right to submit."""
        if session.authenticated and isinstance(session.auth_data, Principal):
            account: Principal = session.auth_data
        else:
            name = self._allowed(address)
            if name is None:
                raise MailRefusedError(
                    550,
                    "5.7.1",
                    f"sender <{address}> may not fax through this gateway: sign in (AUTH, "
                    "after STARTTLS) with an OpenFax account, or ask the administrator to "
                    "add the address to [email_gateway] senders",
                )
            accounts = self.service.accounts
            try:
                info = await accounts.get_account(name)
                rights = await accounts.granted_rights(name)
            except AccountNotFoundError:
                _logger.error(
                    "[email_gateway] senders maps %s to %r: no such account", address, name
                )
                raise MailRefusedError(
                    550, "5.7.1", f"the account {name!r} the sender maps to does not exist"
                ) from None
            account = Principal(name=name, rights=rights, id=info.id)
        if _SUBMIT not in account.rights:
            raise MailRefusedError(
                550, "5.7.1", f"account {account.name!r} may not submit faxes (far2SUBMIT_NORMAL)"
            )
        return account

    def _allowed(self, address: str) -> str | None:
        """The account the allow-list gives ``address`` (its own entry, else its domain's)."""
        address = address.lower()
        _, _, domain = address.rpartition("@")
        return self.senders.get(address) or (self.senders.get(domain) if domain else None)

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: FaxEnvelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        """Take a recipient whose local part is a fax number."""
        most = self.config.max_recipients
        if len(envelope.rcpt_tos) >= most:
            return f"452 4.5.3 too many recipients: this gateway faxes at most {most} per message"
        number = fax_number(address)
        if not is_phone_number(number):
            return (
                f"550 5.1.1 <{address}>: {number!r} is not a fax number ({WHAT_A_NUMBER_IS}); "
                "write the number before the @, as in +4930123456@fax.example.com"
            )
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    # --- the message -------------------------------------------------------------------------

    async def deliver(self, envelope: FaxEnvelope, spooled: BinaryIO) -> str:
        """Turn the spooled message into a fax and queue it; the reply to DATA."""
        account = envelope.account
        assert account is not None
        async with self.slots:
            try:
                result = await self._submit(account, envelope, spooled)
            except MailRefusedError as exc:
                return exc.reply
            except QueueBlockedError as exc:
                return f"451 4.3.2 {exc}"
            except SubmissionError as exc:
                return f"554 5.6.0 {exc}"
            except FaxError as exc:
                _logger.warning("a message from %s was not queued: %s", envelope.mail_from, exc)
                return f"451 4.3.0 the fax could not be queued: {exc}"
            except OSError as exc:
                _logger.error("a message from %s could not be split: %s", envelope.mail_from, exc)
                return f"452 4.3.1 {NO_ROOM}"
        jobs = f"{len(result.job_ids)} job" + ("" if len(result.job_ids) == 1 else "s")
        submission = format_id(result.submission_id)
        _logger.info(
            "e-mail from %s queued as submission %s of %s (%s)",
            envelope.mail_from,
            submission,
            account.name,
            jobs,
        )
        return f"250 2.0.0 fax queued: submission {submission}, {jobs}"

    async def _submit(
        self, account: Principal, envelope: FaxEnvelope, spooled: BinaryIO
    ) -> SubmitResult:
        """Split the message into files, submit the fax they make, and remove them; a body
        that cannot be rendered is refused by the name the message gave it."""
        folder = self.service.ctx.spool.temporary
        most = self.config.max_attachments
        mail = await asyncio.to_thread(split_message, spooled, folder, max_parts=most + TEXT_PARTS)
        fax: FaxMail | None = None
        try:
            fax = await asyncio.to_thread(
                fax_of, mail, folder, max_attachments=most, office=self.service.ctx.office.missing
            )
            request = await self._request(account, envelope, fax, mail.message_id)
            try:
                return await self.service.outgoing_queue.connected_submit2(request)
            except BodyError as exc:
                name = fax.names[exc.index]
                reason = exc.reason.replace(str(fax.bodies[exc.index]), name)
                raise MailRefusedError(554, "5.6.0", f"{name}: {reason}") from None
        finally:
            await asyncio.to_thread(_remove, mail, fax)

    async def handle_exception(self, error: Exception) -> str:
        """aiosmtpd's answer to what a command raised unforeseen: logged, and a reply that
        does not show it."""
        _logger.error("the e-mail gateway failed", exc_info=error)
        return "451 4.3.0 the gateway failed to handle the command: try again later"

    async def _request(
        self, account: Principal, envelope: FaxEnvelope, fax: FaxMail, message_id: str
    ) -> SubmitRequest:
        """The submission of ``fax`` as ``account`` to the envelope's numbers."""
        sender = envelope.mail_from or ""
        fields = await self.service.accounts.get_default_sender(account.id)
        fields["email"] = fields["email"] or sender
        return SubmitRequest(
            bodies=fax.bodies,
            recipients=[Recipient(fax_number=fax_number(a)) for a in envelope.rcpt_tos],
            sender=Sender(**fields),
            subject=fax.subject,
            note=fax.note,
            document_name=fax.document_name,
            cover_page_type=CoverPageType.SERVER if fax.note else CoverPageType.NONE,
            receipt_type=await self._receipt(sender),
            receipt_address=sender,
            group_broadcast_receipts=len(envelope.rcpt_tos) > 1,
            # A message handed over again (its 250 lost on the way) is queued once.
            idempotency_key=f"email {message_id}"[:200] if message_id else None,
            owner=account.name,
            owner_id=account.id,
        )

    async def _receipt(self, sender: str) -> ReceiptType:
        """A mail receipt to ``sender`` when the receipt options allow them, else none."""
        options = await self.service.options.get_receipt_options()
        if not options.allowed_receipts & ReceiptType.MAIL:
            _logger.info("no delivery receipt for %s: the receipt options allow no mail", sender)
            return ReceiptType.NONE
        try:
            check_receipt_address(sender)
        except SubmissionError:
            return ReceiptType.NONE
        return ReceiptType.MAIL

    # --- refusals ----------------------------------------------------------------------------

    def refused(self, smtp: GatewaySMTP, reply: str) -> None:
        """Log a refusal and queue it for the audit trail (counted in the log when the
        backlog is full)."""
        session, envelope = smtp.session, smtp.envelope
        peer = _peer(session)
        sender, account = "", None
        if isinstance(envelope, FaxEnvelope):
            sender, account = envelope.mail_from or envelope.sender_given, envelope.account
        if account is None and session is not None and isinstance(session.auth_data, Principal):
            account = session.auth_data
        _logger.warning("e-mail gateway refused %s from %s: %s", sender or "a client", peer, reply)
        refusal = _Refusal(account.name if account else SERVICE_ACTOR, sender, peer, reply)
        try:
            self.refusals.put_nowait(refusal)
        except asyncio.QueueFull:
            self.unaudited += 1

    async def write_audit(self) -> None:
        """Write the queued refusals to the audit trail until cancelled."""
        ctx = self.service.ctx
        while True:
            refusal = await self.refusals.get()
            if self.unaudited:
                _logger.warning("%d e-mail gateway refusals were not audited", self.unaudited)
                self.unaudited = 0
            details = {"reply": refusal.reply[:MAX_AUDIT_TEXT], "peer": refusal.peer}
            if refusal.sender:
                details["sender"] = refusal.sender[:MAX_AUDIT_TEXT]
            try:
                await record_read(
                    ctx,
                    refusal.actor,
                    AuditAction.REFUSED,
                    "email",
                    (refusal.sender or refusal.peer)[:MAX_AUDIT_TEXT],
                    details,
                )
            except FaxError as exc:
                _logger.error("an e-mail gateway refusal could not be audited: %s", exc)
            finally:
                self.refusals.task_done()


def fax_number(address: str) -> str:
    """The fax number of a recipient address: its local part, unquoted."""
    local = address.rpartition("@")[0] if "@" in address else address
    if len(local) >= 2 and local[0] == local[-1] == '"':
        local = local[1:-1]
    return local


def reply_line(text: str) -> str:
    """``text`` as an SMTP reply line: printable ASCII (others as ``?``), at most
    ``MAX_REPLY`` characters (RFC 5321 4.5.3.1.5 allows 512 with the line end)."""
    line = CONTROL.sub(" ", text).encode("ascii", "replace").decode()
    return line if len(line) <= MAX_REPLY else line[: MAX_REPLY - 3] + "..."


def _peer(session: Session | None) -> str:
    peer = None if session is None else session.peer
    return str(peer[0]) if isinstance(peer, tuple) and peer else str(peer or "")


def _remove(mail: Any, fax: FaxMail | None) -> None:
    mail.remove()
    for body in fax.bodies if fax is not None else ():
        body.unlink(missing_ok=True)


def _pending(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
) -> AuthResult:
    """aiosmtpd's authenticator is called without awaiting: it hands the credentials on to
    :meth:`GatewaySMTP.auth_PLAIN` / ``auth_LOGIN``, which check them against the accounts."""
    return AuthResult(success=False, handled=False, auth_data=data)


class GatewaySMTP(SMTP):
    """aiosmtpd's SMTP protocol with the message spooled to disk as it arrives, AUTH
    checked against the OpenFax accounts, connections counted, and every refusal
    reported to the gateway."""

    def __init__(self, gateway: EmailGateway, tls: Any, hostname: str) -> None:
        config = gateway.config
        super().__init__(
            gateway,
            data_size_limit=config.max_message_mb * 1024 * 1024,
            hostname=hostname,
            ident="OpenFax e-mail to fax",
            tls_context=tls,
            timeout=config.idle_timeout_seconds,
            auth_require_tls=True,
            authenticator=_pending,
        )
        self.gateway = gateway
        self._counted = False

    def _create_envelope(self) -> Envelope:
        return FaxEnvelope()

    async def _handle_client(self) -> None:
        gateway = self.gateway
        if gateway.connections >= gateway.config.max_connections:
            await self.push(
                f"421 4.7.0 {gateway.config.max_connections} connections are open, the most "
                "this gateway takes (max_connections): try again later"
            )
            assert self.transport is not None
            self.transport.close()
            return
        gateway.connections += 1
        self._counted = True
        await super()._handle_client()

    def connection_lost(self, error: Exception | None) -> None:
        if self._counted:
            self.gateway.connections -= 1
            self._counted = False
        super().connection_lost(error)

    async def push(self, status: AnyStr) -> None:
        """Send a reply (made one line of ASCII: a reason may quote a file's name or a
        library's message), reporting a refusal to the gateway."""
        if isinstance(status, str):
            status = reply_line(status)
        await super().push(status)
        text = status if isinstance(status, str) else status.decode("ascii", "replace")
        if text[:1] in ("4", "5"):
            self.gateway.refused(self, text)

    # --- AUTH against the accounts -------------------------------------------------------------

    async def auth_PLAIN(self, _: Any, args: list[str]) -> AuthResult:
        return await self._sign_in(await super().auth_PLAIN(_, args))

    async def auth_LOGIN(self, _: Any, args: list[str]) -> AuthResult:
        return await self._sign_in(await super().auth_LOGIN(_, args))

    async def _sign_in(self, given: AuthResult) -> AuthResult:
        """The account of the credentials aiosmtpd decoded (``_pending`` passed them on)."""
        credentials = given.auth_data
        if not isinstance(credentials, LoginPassword):
            return given  # refused while decoding, already answered
        try:
            name = credentials.login.decode()
            password = credentials.password.decode()
        except UnicodeDecodeError:
            return AuthResult(success=False, handled=False)
        try:
            found = await self.gateway.service.accounts.sign_in_password(
                name, password, _peer(self.session)
            )
        except SignInThrottledError as exc:
            return AuthResult(
                success=False,
                handled=False,
                message=f"454 4.7.0 too many failed sign-ins: try again in {exc.retry_after} s",
            )
        if found is None:
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=found)

    # --- DATA, spooled -------------------------------------------------------------------------

    async def smtp_DATA(self, arg: str) -> None:
        """RFC 5321 DATA, the message written to a private spool file a line at a time (dots
        unstuffed); past ``max_message_mb`` the rest is read and dropped, then refused."""
        if await self.check_helo_needed():
            return
        if await self.check_auth_needed("DATA"):
            return
        envelope = self.envelope
        assert isinstance(envelope, FaxEnvelope)
        if not envelope.rcpt_tos:
            await self.push("503 5.5.1 Error: need RCPT command")
            return
        if arg:
            await self.push("501 5.5.4 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        folder = self.gateway.service.ctx.spool.temporary
        with tempfile.TemporaryFile(dir=folder) as file:  # 0600, gone when closed
            spooled = cast(BinaryIO, file)
            problem = await self._receive(spooled)
            # Making the fax is bounded by the render deadline, not by the idle time.
            deadlines = self.gateway.service.config.deadlines
            self._reset_timeout(deadlines.render_seconds + self.gateway.config.idle_timeout_seconds)
            status = problem or await self.gateway.deliver(envelope, spooled)
        self._reset_timeout()  # the idle time again, from the reply on
        self.envelope = self._create_envelope()  # as aiosmtpd's own DATA ends
        await self.push(status)

    async def _receive(self, out: BinaryIO) -> str:
        """Read the message up to its ending dot into ``out``; "" or the refusal. A line
        may end in a bare LF (as some programs send), the message only in CRLF.CRLF. The
        idle time counts from the last line that arrived (within a second), not from the
        DATA command."""
        limit = self.data_size_limit or 0
        size = 0
        timer_set = self.loop.time()
        problem = ""
        fragments = False
        while True:
            try:
                line = await self._reader.readuntil(b"\n")
            except asyncio.CancelledError:
                self._writer.close()  # the connection is gone during DATA
                raise
            except asyncio.LimitOverrunError as exc:
                problem = problem or "500 5.5.6 Line too long (see RFC 5321 4.5.3.1.6)"
                await self._reader.read(exc.consumed)
                fragments = True
                continue
            if fragments:  # the end of an overlong line
                fragments = False
                continue
            if line == b".\r\n":
                return problem
            size += len(line)
            if self.loop.time() - timer_set >= 1.0:
                self._reset_timeout()
                timer_set = self.loop.time()
            if limit and size > limit and not problem:
                problem = (
                    f"552 5.3.4 the message is larger than {self.gateway.config.max_message_mb}"
                    " MiB, the most this gateway takes (max_message_mb)"
                )
            if not problem:
                try:
                    out.write(line[1:] if line.startswith(b".") else line)
                except OSError as exc:
                    _logger.error("a message could not be spooled: %s", exc)
                    problem = f"452 4.3.1 {NO_ROOM}"


@asynccontextmanager
async def serving_email_gateway(service: FaxService) -> AsyncIterator[str | None]:
    """Serve the e-mail gateway of the running ``service`` (when ``[email_gateway] enabled``)
    until the block ends; yields its ``host:port``, None when it is off."""
    config = service.config.email_gateway
    if not config.enabled:
        yield None
        return
    source = service.config.source
    address = listen_address(config.listen)
    if address is None:
        raise ConfigError(source, "email_gateway.listen", "must be host:port to serve on")
    tls = None
    if config.tls_certificate is not None and config.tls_key is not None:
        tls = server_context(source, config.tls_certificate, config.tls_key, "email_gateway")
    # aiosmtpd logs each connection and command at INFO: the gateway's own lines say what
    # matters. What clients make either log is rate-limited, so a flood cannot fill the disk.
    logging.getLogger(AIOSMTPD_LOGGER).setLevel(logging.WARNING)
    limit_rate(AIOSMTPD_LOGGER, __name__)
    gateway = EmailGateway(service, config)
    hostname = config.hostname or socket.gethostname()
    loop = asyncio.get_running_loop()
    protocols: list[GatewaySMTP] = []

    def made() -> GatewaySMTP:
        protocol = GatewaySMTP(gateway, tls, hostname)
        protocols[:] = [
            p for p in protocols if p.transport is not None and not p.transport.is_closing()
        ]
        protocols.append(protocol)
        return protocol

    try:
        server = await loop.create_server(made, *address)
    except OSError as exc:
        raise ConfigError(source, "email_gateway.listen", f"cannot listen: {exc}") from None
    port = server.sockets[0].getsockname()[1]
    listening = f"{address[0]}:{port}"
    _logger.info(
        "e-mail gateway listening on smtp://%s%s",
        listening,
        " (STARTTLS, AUTH)" if tls else " (no STARTTLS: allow-listed senders only)",
    )
    for entry in config.senders:
        try:
            await service.accounts.get_account(entry.account)
        except AccountNotFoundError:
            _logger.warning(
                "[email_gateway] senders maps %s to %r, which is no account: its messages "
                "are refused until the account is added",
                entry.address,
                entry.account,
            )
    audit = asyncio.create_task(gateway.write_audit(), name="e-mail gateway audit")
    try:
        yield listening
    finally:
        server.close()
        for protocol in protocols:
            if protocol.transport is not None:
                protocol.transport.close()
        with suppress(TimeoutError):
            async with asyncio.timeout(5):
                await gateway.refusals.join()
        audit.cancel()
        with suppress(asyncio.CancelledError):
            await audit
