"""Accounts and access rights over the real API: password (argon2) and token sign-in over
TCP, Unix users on the local socket, two accounts that cannot see, download, change or hear
each other's faxes, every protected operation refused without its right, received faxes
public or reassigned."""

from __future__ import annotations

import contextlib
import grp
import json
import os
import pwd
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from openfax.api.app import create_app
from openfax.api.rights import declared, walk_routes
from openfax.api.tokens import TokenFile
from openfax.client import FaxAccount, FaxDocument, FaxServer, ServerEvent
from openfax.errors import (
    AccessDeniedError,
    AccountNotFoundError,
    InvalidOperationError,
)
from openfax.model import (
    ALL_RIGHTS,
    DEFAULT_RIGHTS,
    AccessRights,
    AccessRights2,
    AccountEvents,
    JobStatus,
    ServerEvents,
    effective_rights,
)
from openfax.service import FaxService
from openfax.service.config_file import load_config
from tests.daemon import Daemon, running
from tests.factories import make_pdf
from tests.waiting import wait_until

SOME_ID = "0123456789abcdef"
WAIT = 60.0
NOBODY = 65534


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """A daemon whose monitoring routes need an account over TCP too (``metrics_from``
    the local socket only), so every protected route is refused without its right."""
    with running(tmp_path_factory.mktemp("openfaxd"), api={"metrics_from": ["unix"]}) as started:
        yield started


@pytest.fixture(scope="module")
def admin(daemon: Daemon) -> Iterator[FaxServer]:
    """The administrator: connected locally as root or the daemon's own user."""
    os.environ["OPENFAX_SOCKET"] = str(daemon.socket)
    with FaxServer() as server:
        server.connect()
        yield server


@pytest.fixture(scope="module")
def body(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_pdf(tmp_path_factory.mktemp("docs") / "one.pdf", 1)


def add_account(admin: FaxServer, name: str, password: str | None = "secret") -> None:
    admin.fax_account_set.add_account(name, password)


def ensure_account(admin: FaxServer, name: str) -> None:
    """The account, added with the password ``secret`` unless an earlier test did."""
    with contextlib.suppress(InvalidOperationError):
        add_account(admin, name)


def remote(daemon: Daemon, name: str, password: str = "secret") -> FaxServer:
    server = FaxServer()
    server.connect(daemon.address, user=name, password=password)
    return server


def submit(server: FaxServer, body: Path, number: str = "1002") -> str:
    fax = FaxDocument(body=body, subject=f"from {server.current_account.account_name}")
    fax.recipients.add(number)
    (job_id,) = fax.connected_submit(server)
    return job_id


def set_paused(admin: FaxServer, paused: bool) -> None:
    queue = admin.folders.outgoing_queue
    queue.paused = paused
    queue.save()


# --- signing in ---------------------------------------------------------------------------


def test_a_password_signs_in_over_tcp(admin: FaxServer, daemon: Daemon) -> None:
    add_account(admin, "pat", "correct horse")
    account = admin.fax_account_set.get_account("pat")
    assert account.has_password
    assert account.granted_rights is None
    with remote(daemon, "pat", "correct horse") as pat:
        assert pat.current_account.account_name == "pat"
        assert pat.security2.granted_rights == effective_rights(DEFAULT_RIGHTS)
        # The older rights model as a view of the same rights.
        assert pat.security.granted_rights == (
            AccessRights.SUBMIT_LOW
            | AccessRights.SUBMIT_NORMAL
            | AccessRights.SUBMIT_HIGH
            | AccessRights.QUERY_CONFIG
        )
    for wrong in ("wrong", "correct horse "):
        with pytest.raises(AccessDeniedError), FaxServer() as server:
            server.connect(daemon.address, user="pat", password=wrong)
    with pytest.raises(AccessDeniedError), FaxServer() as server:
        server.connect(daemon.address, user="nobody-at-all", password="x")
    # A changed password is the only one that works (the cache of checked ones is dropped).
    account.set_password("battery staple")
    with remote(daemon, "pat", "battery staple") as pat:
        assert pat.current_account.account_name == "pat"
    with pytest.raises(AccessDeniedError), FaxServer() as server:
        server.connect(daemon.address, user="pat", password="correct horse")
    # The audit trail says who added the account and set its password, never the password.
    me = admin.current_account.account_name
    changes = [
        (e.actor, e.details["change"])
        for e in admin.get_audit(limit=1000)
        if (e.action, e.object_type, e.object_id) == ("config_changed", "security", "account:pat")
    ]
    assert changes == [(me, "added"), (me, "password set")]
    assert "staple" not in json.dumps([e.details for e in admin.get_audit(limit=1000)])


def test_an_account_token_signs_in_until_revoked(admin: FaxServer, daemon: Daemon) -> None:
    add_account(admin, "tok", None)
    ensure_account(admin, "other")
    account = admin.fax_account_set.get_account("tok")
    token_id, token = account.add_token("laptop")
    assert [t["label"] for t in account.get_tokens()] == ["laptop"]
    assert all(t["token"] is None for t in account.get_tokens())  # shown once, when made
    with FaxServer() as server:
        server.connect(daemon.address, token=token)
        assert server.current_account.account_name == "tok"
        # An account manages its own tokens; not another's.
        mine = server.current_account
        second_id, _ = mine.add_token("phone")
        mine.revoke_token(second_id)
        with pytest.raises(AccessDeniedError):
            server.fax_account_set.get_account("other").get_tokens()
    account.revoke_token(token_id)
    with pytest.raises(AccessDeniedError), FaxServer() as server:
        server.connect(daemon.address, token=token)


def test_accounts_are_listed_added_and_removed(admin: FaxServer) -> None:
    accounts = admin.fax_account_set
    accounts.add_account("domain\\carol")
    listed = accounts.get_accounts()
    assert listed["domain\\carol"].account_name == "domain\\carol"
    assert any(a.account_name == "domain\\carol" for a in listed)
    with pytest.raises(InvalidOperationError):
        accounts.add_account("domain\\carol")
    accounts.remove_account("domain\\carol")
    with pytest.raises(AccountNotFoundError):
        accounts.get_account("domain\\carol")
    with pytest.raises(AccountNotFoundError):
        accounts.remove_account("domain\\carol")


def as_unix_user(sock: Path, uid: int, method: str, path: str) -> tuple[int, Any]:
    """One request on the local socket from a child process running as ``uid`` (in group 0,
    which the socket's mode lets in): its status and JSON body."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: only the standard library, then out
        status = 1
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(0)
            os.setuid(uid)
            with socket.socket(socket.AF_UNIX) as conn:
                conn.connect(str(sock))
                request = f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                conn.sendall((request + "Content-Length: 0\r\n\r\n").encode())
                answer = b""
                while chunk := conn.recv(65536):
                    answer += chunk
            os.write(write, answer)
            status = 0
        finally:
            os._exit(status)
    os.close(write)
    answer = b""
    while chunk := os.read(read, 65536):
        answer += chunk
    os.close(read)
    assert os.waitpid(pid, 0)[1] == 0
    head, _, payload = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(payload) if payload else None


@pytest.mark.skipif(os.getuid() != 0, reason="acting as another Unix user needs root")
def test_a_unix_user_is_its_account_made_on_first_connection_or_refused(
    admin: FaxServer, daemon: Daemon
) -> None:
    # The socket's folder is the daemon user's own; let group 0 (the child's) through.
    daemon.socket.parent.chmod(0o750)
    me = admin.current_account
    assert me.granted_rights == ALL_RIGHTS  # root: an administrator
    status, account = as_unix_user(daemon.socket, NOBODY, "GET", "/v1/account")
    assert status == 200
    assert account == {
        "account_name": "nobody",
        "granted_rights": int(effective_rights(DEFAULT_RIGHTS)),
        "local": True,
    }
    assert admin.fax_account_set.get_account("nobody").has_password is False
    # Rights granted to the Unix group of the user are added to its account's.
    security = admin.security2
    group = grp.getgrgid(pwd.getpwuid(NOBODY).pw_gid).gr_name
    security.grant(f"@{group}", AccessRights2.QUERY_OUT_JOBS)
    try:
        status, account = as_unix_user(daemon.socket, NOBODY, "GET", "/v1/account")
        assert account["granted_rights"] == int(
            effective_rights(DEFAULT_RIGHTS | AccessRights2.QUERY_OUT_JOBS)
        )
    finally:
        security.grant(f"@{group}", None)
    assert as_unix_user(daemon.socket, NOBODY, "GET", "/v1/account")[1]["granted_rights"] == int(
        effective_rights(DEFAULT_RIGHTS)
    )
    security.save(auto_create_account_on_connect=False)
    try:
        # An existing account still connects; a Unix user without one is refused.
        assert as_unix_user(daemon.socket, NOBODY, "GET", "/v1/account")[0] == 200
        admin.fax_account_set.remove_account("nobody")
        status, refused = as_unix_user(daemon.socket, NOBODY, "GET", "/v1/account")
        assert status == 403
        assert refused["error"]["class"] == "AccessDeniedError"
        assert refused["error"]["hresult"] == 0x80070005
        assert "openfax accounts add nobody" in refused["error"]["message"]
        with pytest.raises(AccountNotFoundError):
            admin.fax_account_set.get_account("nobody")
    finally:
        security.save(auto_create_account_on_connect=True)


# --- isolation ----------------------------------------------------------------------------


def test_two_accounts_see_only_their_own_faxes(
    admin: FaxServer, daemon: Daemon, body: Path, tmp_path: Path
) -> None:
    add_account(admin, "alice")
    add_account(admin, "bob")
    set_paused(admin, True)
    with remote(daemon, "alice") as alice, remote(daemon, "bob") as bob:
        heard: list[ServerEvent] = []
        arrived = threading.Event()

        def on_event(server: FaxServer, event: ServerEvent) -> None:
            heard.append(event)
            if event.name == "OnOutgoingMessageAdded":
                arrived.set()

        alice.add_event_handler(on_event)
        alice.listen_to_server_events(ServerEvents.OUT_QUEUE | ServerEvents.OUT_ARCHIVE)
        bobs = submit(bob, body)
        alices = submit(alice, body)
        # Queues: each sees its own job only; the administrator sees both.
        assert [j.id for j in alice.folders.outgoing_queue.get_jobs()] == [alices]
        assert [j.id for j in bob.folders.outgoing_queue.get_jobs()] == [bobs]
        everyone = {j.id for j in admin.folders.outgoing_queue.get_jobs()}
        assert {alices, bobs} <= everyone
        # An account's folders, as the administrator reads them.
        folders = admin.fax_account_set.get_account("alice").folders
        assert [j.id for j in folders.outgoing_queue.get_jobs()] == [alices]
        # Another's job can neither be read, downloaded nor changed.
        queue = alice.folders.outgoing_queue
        for action in (
            lambda: queue.get_job(bobs),
            lambda: alice._connected.download(f"/outgoing-jobs/{bobs}/tiff", tmp_path / "x"),
            lambda: alice._connected.get(f"/outgoing-jobs/{bobs}/attempts"),
            lambda: alice._connected.request("POST", f"/outgoing-jobs/{bobs}/cancel"),
            lambda: alice._connected.get("/outgoing-jobs", account="bob"),
        ):
            with pytest.raises(AccessDeniedError):
                action()
        assert admin.folders.outgoing_queue.get_job(bobs).status & JobStatus.PENDING
        # Sent: each archive shows its own fax only.
        set_paused(admin, False)
        wait_archived(admin, {alices, bobs})
        assert arrived.wait(WAIT)
        mine = [m.id for m in alice.folders.outgoing_archive.get_messages()]
        assert mine == [alices]
        assert [m.id for m in bob.folders.outgoing_archive.get_messages()] == [bobs]
        archive = alice.folders.outgoing_archive
        with pytest.raises(AccessDeniedError):
            archive.get_message(bobs)
        for kind in ("tiff", "pdf"):
            with pytest.raises(AccessDeniedError):
                alice._connected.download(f"/outgoing-messages/{bobs}/{kind}", tmp_path / "y")
        with pytest.raises(AccessDeniedError):
            alice._connected.request("DELETE", f"/outgoing-messages/{bobs}")
        archive.get_message(alices).save_pdf(tmp_path / "mine.pdf")
        assert (tmp_path / "mine.pdf").read_bytes().startswith(b"%PDF")
        # Events: alice heard her own fax from queue to archive, nothing of bob's.
        alice.listen_to_server_events(ServerEvents.NONE)
        ids = {e.job_id or e.message_id for e in heard}
        assert ids == {alices}
        assert {"OnOutgoingJobAdded", "OnOutgoingMessageAdded"} <= {e.name for e in heard}


# --- every protected operation needs its right ---------------------------------------------


def protected_routes(tmp_path: Path) -> list[tuple[str, str]]:
    """``(method, concrete path)`` of every HTTP route that needs a right, from the app's own
    declarations, its path parameters filled in with something well-formed."""
    service = FaxService(load_config(None, data_dir=tmp_path))
    app = create_app(service, TokenFile(tmp_path / "tokens")).app
    assert isinstance(app, FastAPI)
    found = []
    for path, route, _ in walk_routes(app.routes, "", inherited=False):
        if not isinstance(route, APIRoute):
            continue
        if not any(needs.any_of for needs in declared(route.dependant)):
            continue
        concrete = path
        for name, value in PATH_VALUES.items():
            concrete = concrete.replace("{" + name + "}", value)
        assert "{" not in concrete, f"no value for a parameter of {path}"
        found += [(method, concrete) for method in route.methods]
    return sorted(found)


PATH_VALUES = {
    "device_id": "1",
    "index": "1",
    "country_code": "0",
    "area_code": "0",
    "guid": "x",
    "name": "x",
    "unique_name": "x",
    "principal": "x",
    "job_id": SOME_ID,
    "message_id": SOME_ID,
    "delivery_id": SOME_ID,
    "receipt_id": SOME_ID,
    "token_id": SOME_ID,
    "book": "personal",
    "contact_id": SOME_ID,
}


def test_every_protected_operation_is_refused_without_its_right(
    admin: FaxServer, daemon: Daemon, tmp_path: Path
) -> None:
    """Table-driven: an account granted no right gets 403 AccessDeniedError (0x80070005)
    from every route that needs one; the WebSocket refuses it too."""
    add_account(admin, "norights")
    admin.security2.grant("norights", AccessRights2(0))
    table = protected_routes(tmp_path)
    assert len(table) > 40
    auth = ("norights", "secret")
    with httpx.Client(base_url=f"http://{daemon.address}", auth=auth) as client:
        assert client.get("/v1/account").json()["granted_rights"] == 0
        for method, path in table:
            answer = client.request(method, path)
            assert answer.status_code == 403, (method, path, answer.text)
            error = answer.json()["error"]
            assert error["class"] == "AccessDeniedError", (method, path)
            assert error["hresult"] == 0x80070005
            assert "norights" in error["message"]


@pytest.mark.parametrize(
    ("method", "path", "needed"),
    [
        ("PATCH", "/v1/outgoing-queue", "far2MANAGE_CONFIG"),
        ("PATCH", "/v1/devices/1", "far2MANAGE_CONFIG"),
        ("POST", "/v1/devices/1/answer", "far2MANAGE_CONFIG"),
        ("POST", "/v1/accounts", "far2MANAGE_CONFIG"),
        ("GET", "/v1/security/grants", "far2MANAGE_CONFIG"),
        ("PUT", "/v1/security/grants/x", "far2MANAGE_CONFIG"),
        ("DELETE", "/v1/accounts/alice", "far2MANAGE_CONFIG"),
        ("POST", f"/v1/incoming-jobs/{SOME_ID}/cancel", "far2MANAGE_RECEIVE_FOLDER"),
        ("POST", f"/v1/incoming-messages/{SOME_ID}/reassign", "far2MANAGE_RECEIVE_FOLDER"),
        ("GET", "/v1/inbound-routing/deliveries", "far2MANAGE_RECEIVE_FOLDER"),
        ("PATCH", "/v1/receipt-options", "far2MANAGE_CONFIG"),
        ("PATCH", "/v1/logging-options/events", "far2MANAGE_CONFIG"),
        ("POST", f"/v1/receipts/{SOME_ID}/resend", "far2MANAGE_CONFIG"),
        ("POST", f"/v1/receipts/{SOME_ID}/cancel", "far2MANAGE_CONFIG"),
    ],
)
def test_a_user_with_the_default_rights_cannot_administer(
    admin: FaxServer, daemon: Daemon, method: str, path: str, needed: str
) -> None:
    ensure_account(admin, "plain")
    with httpx.Client(base_url=f"http://{daemon.address}", auth=("plain", "secret")) as client:
        answer = client.request(method, path)
    assert answer.status_code == 403
    assert needed in answer.json()["error"]["message"]


def test_an_account_sets_its_own_password_only(admin: FaxServer, daemon: Daemon) -> None:
    ensure_account(admin, "plain")
    ensure_account(admin, "other")
    with remote(daemon, "plain") as plain:
        with pytest.raises(AccessDeniedError):
            plain.fax_account_set.get_account("other").set_password("mine now")
        plain.current_account.set_password("new secret")
    with remote(daemon, "plain", "new secret") as plain:
        plain.current_account.set_password("secret")


def test_a_submission_needs_the_right_of_its_priority(
    admin: FaxServer, daemon: Daemon, body: Path
) -> None:
    add_account(admin, "lowly")
    admin.security2.grant("lowly", AccessRights2.SUBMIT_LOW)
    set_paused(admin, True)
    try:
        with remote(daemon, "lowly") as lowly:
            fax = FaxDocument(body=body, priority=2)
            fax.recipients.add("1002")
            with pytest.raises(AccessDeniedError) as refused:
                fax.connected_submit(lowly)
            assert "far2SUBMIT_HIGH" in str(refused.value)
            fax.priority = 0
            (job_id,) = fax.connected_submit(lowly)
            lowly.folders.outgoing_queue.get_job(job_id).cancel()
    finally:
        set_paused(admin, False)


# --- the receive folder -------------------------------------------------------------------


def test_received_faxes_are_public_or_reassigned(
    admin: FaxServer, daemon: Daemon, body: Path, tmp_path: Path
) -> None:
    for name in ("dora", "eve"):
        ensure_account(admin, name)
    before = {m.id for m in admin.folders.incoming_archive.get_messages()}
    job_id = submit(admin, body, "1002")
    admin.folders.outgoing_queue.get_job(job_id).wait(timeout=WAIT)
    received = wait_for_received(admin, before)
    with remote(daemon, "dora") as dora, remote(daemon, "eve") as eve:
        # Public: every account sees the received fax; only the receive folder's managers
        # delete it, and reassigning it is refused.
        assert received in [m.id for m in dora.folders.incoming_archive.get_messages()]
        message = admin.folders.incoming_archive.get_message(received)
        with pytest.raises(InvalidOperationError):
            message.reassign("dora")
        with pytest.raises(AccessDeniedError):
            dora._connected.request("DELETE", f"/incoming-messages/{received}")
        admin.security2.save(incoming_faxes_are_public=False)
        try:
            assert received not in [m.id for m in dora.folders.incoming_archive.get_messages()]
            with pytest.raises(AccessDeniedError):
                dora.folders.incoming_archive.get_message(received)
            message.reassign("dora")
            assert message.was_reassigned
            assert message.recipients == "dora"
            (entry,) = [e for e in admin.get_audit(limit=1000) if e.action == "reassigned"]
            assert (entry.actor, entry.object_id) == (admin.current_account.account_name, received)
            assert entry.details == {"account": "dora"}
            assert [m.id for m in dora.folders.incoming_archive.get_messages()] == [received]
            dora.folders.incoming_archive.get_message(received).copy_tiff(tmp_path / "r.tif")
            assert (tmp_path / "r.tif").read_bytes()[:2] in (b"II", b"MM")
            assert received not in [m.id for m in eve.folders.incoming_archive.get_messages()]
            with pytest.raises(AccessDeniedError):
                eve._connected.download(f"/incoming-messages/{received}/pdf", tmp_path / "e")
            # The faxes being received are the receive folder's managers' now.
            assert len(eve.folders.incoming_queue.get_jobs()) == 0
        finally:
            admin.security2.save(incoming_faxes_are_public=True)


def wait_archived(admin: FaxServer, job_ids: set[str]) -> None:
    """Wait until the jobs are sent and archived."""

    def archived() -> bool:
        return job_ids <= {m.id for m in admin.folders.outgoing_archive.get_messages()}

    wait_until(archived, f"all of {job_ids} are sent", WAIT)


def wait_for_received(admin: FaxServer, before: set[str]) -> str:
    """The id of the fax received after ``before`` were."""

    def new() -> set[str]:
        return {m.id for m in admin.folders.incoming_archive.get_messages()} - before

    (received,) = wait_until(new, "a fax is received", WAIT)
    return received


def test_account_events_are_that_accounts_faxes(
    admin: FaxServer, daemon: Daemon, body: Path
) -> None:
    ensure_account(admin, "fay")
    ensure_account(admin, "gus")
    set_paused(admin, True)
    heard: dict[str, list[ServerEvent]] = {"fay": [], "gus": []}
    added = {name: threading.Event() for name in heard}

    def handler(account: FaxAccount, event: ServerEvent) -> None:
        heard[account.account_name].append(event)
        if event.name == "OnOutgoingJobAdded":
            added[account.account_name].set()

    with remote(daemon, "fay") as fay, remote(daemon, "gus") as gus:
        mine = fay.current_account
        mine.add_event_handler(handler)
        mine.listen_to_account_events(AccountEvents.OUT_QUEUE)
        assert mine.registered_events == AccountEvents.OUT_QUEUE
        # The administrator hears gus's account; fay may not.
        watched = admin.fax_account_set.get_account("gus")
        watched.add_event_handler(handler)
        watched.listen_to_account_events(AccountEvents.OUT_QUEUE | AccountEvents.OUT_ARCHIVE)
        with pytest.raises(AccessDeniedError):
            fay.fax_account_set.get_account("gus").listen_to_account_events(AccountEvents.OUT_QUEUE)
        guss = submit(gus, body)
        fays = submit(fay, body)
        assert added["fay"].wait(WAIT)
        assert added["gus"].wait(WAIT)
        for account in (mine, watched):
            account.listen_to_account_events(AccountEvents.NONE)
        assert {e.job_id for e in heard["fay"]} == {fays}
        assert {e.job_id for e in heard["gus"]} == {guss}
        for job_id in (fays, guss):
            admin.folders.outgoing_queue.get_job(job_id).cancel()
    set_paused(admin, False)
