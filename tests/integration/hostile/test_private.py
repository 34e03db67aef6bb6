"""Finding 7, private by default: a real openfaxd that sent and received a fax and keeps
secrets in its settings leaves nothing in its data folder that its group or other users can
read or change, tightens an older install's modes when it starts, and never shows a secret
in clear: not in the API, not in the CLI, not in its log. The user ``nobody`` reads none of
it."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import sqlite3
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from openfax.client import FaxServer
from openfax.masking import masked, unmasked
from openfax.model import ReceiptType, SmtpAuthenticationType
from openfax.routing import ROUTE_TO_EMAIL, WEBHOOK
from openfax.service.inbound_routing import configuration_key
from tests.daemon import Daemon, running
from tests.factories import make_pdf
from tests.integration.cli.test_cli import OPENFAX
from tests.integration.hostile.conftest import LIMIT_BYTES
from tests.integration.routing.conftest import ROUTING, fax_to, settled, use_only
from tests.peers import smtp_server, webhook_receiver

RECEIPT_SECRET = "receipt-pw-Qx7Vb2"
TYPED_SECRET = "typed-pw-Lm4Zr8"
"""Typed to ``openfax receipts set --password`` (the password is never an argument)."""
ROUTING_SECRET = "routing-pw-Jm4Kc9"
WEBHOOK_SECRET = "webhook-secret-Zt8Lp3"
TOKEN_SECRET = "every-line-secret-Hn5Rw1"
SECRETS = (RECEIPT_SECRET, TYPED_SECRET, ROUTING_SECRET, WEBHOOK_SECRET, TOKEN_SECRET)
MASK = "********"
RECEIVER = "loopback line 1002"
LOGGED = "files (now 0600) and"
"""What the one line about tightened modes says."""


@dataclass
class Site:
    """The module's daemon after it sent and received a fax with secrets configured: the
    received fax's id, and the folder around its data folder (others may pass through it)."""

    daemon: Daemon
    message_id: str
    base: Path


def openfax(daemon: Daemon, *args: str, given: str = "") -> subprocess.CompletedProcess[str]:
    """The CLI as the local administrator (root) on the daemon's socket, ``given`` on its
    standard input."""
    env = {**os.environ, "OPENFAX_SOCKET": str(daemon.socket), "COLUMNS": "200"}
    for name in ("OPENFAX_TOKEN", "OPENFAX_USER", "OPENFAX_PASSWORD", "OPENFAX_SERVER"):
        env.pop(name, None)
    return subprocess.run(
        [str(OPENFAX), *args], input=given, capture_output=True, text=True, env=env, timeout=120
    )


def stored_setting(daemon: Daemon, key: str) -> object:
    """A value of the ``settings`` table as the database holds it (read beside the daemon)."""
    with sqlite3.connect(daemon.data_dir / "openfax.db") as db:
        (value,) = db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    return json.loads(value)


def configure_secrets(server: FaxServer, daemon: Daemon, smtp_port: int, hook_url: str) -> None:
    """Receipts through a login, e-mail routing with a login, a signed webhook: each secret
    set once, then each configuration saved again with the mask sent back, as clients do."""
    options = server.receipt_options
    options.allowed_receipts = ReceiptType.MAIL
    options.smtp_server = "127.0.0.1"
    options.smtp_port = smtp_port
    options.smtp_sender = "fax@example.com"
    options.authentication_type = SmtpAuthenticationType.BASIC
    options.smtp_user = "fax"
    options.smtp_password = RECEIPT_SECRET
    options.starttls = False
    options.save()
    assert options.smtp_password == MASK
    options.smtp_sender = "faxes@example.com"
    options.save()

    line = server.get_devices()[RECEIVER].id
    mail = server.inbound_routing.get_method(ROUTE_TO_EMAIL)
    mail.set_configuration(
        {
            "recipients": ["office@example.com"],
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_port,
            "username": "fax",
            "password": ROUTING_SECRET,
        },
        line,
    )
    hook = server.inbound_routing.get_method(WEBHOOK)
    hook.set_configuration({"url": hook_url, "secret": WEBHOOK_SECRET}, line)
    # The CLI sends the configuration it read (secrets masked) back with the change.
    for guid, change in ((ROUTE_TO_EMAIL, "subject=A fax"), (WEBHOOK, "attach=link")):
        changed = openfax(daemon, "routing", "config", guid, change, "--device", str(line))
        assert changed.returncode == 0, changed.stderr
    use_only(server, RECEIVER, ROUTE_TO_EMAIL, WEBHOOK)


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    # Not below pytest's own 0700 folders: others may pass through ``base`` (0711), so only
    # the data folder's own modes keep them out.
    base = Path(tempfile.mkdtemp(prefix="ofx-private-", dir="/tmp"))
    base.chmod(0o711)
    try:
        with running(base / "data", memory_limit=LIMIT_BYTES, incoming=ROUTING) as daemon:
            with (
                smtp_server(users={"fax": ROUTING_SECRET}) as (mailbox, port),
                webhook_receiver() as hook,
                daemon.connected() as server,
            ):
                configure_secrets(server, daemon, port, hook.url)
                message_id = fax_to(server, "1002", make_pdf(base / "one.pdf", 1))
                deliveries = settled(server, message_id)
                # The logins and the signature worked: the stored secrets were kept.
                assert {d.status for d in deliveries} == {"done"}, deliveries
                ((user, _),) = mailbox.wait_for(1)
                assert user == "fax"
                assert hook.wait_for(1)[0].signed_with(WEBHOOK_SECRET)
            yield Site(daemon, message_id, base)
    finally:
        shutil.rmtree(base)


def open_paths(root: Path) -> list[str]:
    """Every folder and file in and under ``root`` its group or others may use, with its
    mode (links are not followed)."""
    found = []
    for path in [root, *root.rglob("*")]:
        mode = path.lstat().st_mode
        if (stat.S_ISREG(mode) or stat.S_ISDIR(mode)) and mode & 0o077:
            found.append(f"{path} {stat.filemode(mode)}")
    return found


def test_nothing_under_the_data_folder_is_open_to_others_after_faxes_and_secrets(
    site: Site,
) -> None:
    data = site.daemon.data_dir
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    # What the finding found world-readable is there to be checked.
    database = data / "openfax.db"
    assert database.is_file()
    assert Path(f"{database}-wal").is_file()
    assert list((data / "spool").rglob("*.tif"))
    assert open_paths(data) == []


def test_an_old_install_is_tightened_at_start_with_one_line(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    outside = tmp_path_factory.mktemp("outside")
    (outside / "not ours.txt").write_text("left alone")
    (outside / "not ours.txt").chmod(0o644)
    outside.chmod(0o755)
    with running(tmp_path_factory.mktemp("openfaxd"), memory_limit=LIMIT_BYTES) as daemon:
        with daemon.connected() as server:
            fax_to(server, "1002", make_pdf(outside / "one.pdf", 1))
        daemon.stop()
        data = daemon.data_dir
        # As an older version left it: folders 0755, files 0644; links lead out of it.
        files = folders = 0
        for path in [data, *data.rglob("*")]:
            if path.is_dir():
                path.chmod(0o755)
                folders += 1
            elif path.is_file():
                path.chmod(0o644)
                files += 1
        (data / "link to a folder").symlink_to(outside)
        (data / "link to a file").symlink_to(outside / "not ours.txt")
        assert files
        assert folders
        assert len(open_paths(data)) == files + folders

        daemon.log.clear()
        daemon.start()
        assert open_paths(data) == []
        assert stat.S_IMODE(outside.stat().st_mode) == 0o755
        assert stat.S_IMODE((outside / "not ours.txt").stat().st_mode) == 0o644
        lines = [line for line in daemon.log if LOGGED in line]
        assert len(lines) == 1, list(daemon.log)
        assert f"made {files} files (now 0600) and {folders} folders (now 0700)" in lines[0]

        # Once tight, a start says nothing about it.
        daemon.stop()
        daemon.log.clear()
        daemon.start()
        assert not [line for line in daemon.log if LOGGED in line]


def test_the_api_never_shows_a_secret_in_clear(site: Site) -> None:
    daemon = site.daemon
    with daemon.connected() as server:
        line = server.get_devices()[RECEIVER].id
        assert server.receipt_options.smtp_password == MASK
        mail = server.inbound_routing.get_method(ROUTE_TO_EMAIL).get_configuration(line)
        hook = server.inbound_routing.get_method(WEBHOOK).get_configuration(line)
        assert mail is not None
        assert hook is not None
        assert (mail["password"], hook["secret"]) == (MASK, MASK)
        # The configuration of every line reads masked as soon as it is set.
        every_line = {"url": "http://127.0.0.1:9/", "secret": TOKEN_SECRET}
        shown = server.inbound_routing.get_method(WEBHOOK).set_configuration(every_line, 0)
        assert shown["secret"] == MASK
    transport = httpx.HTTPTransport(uds=str(daemon.socket))
    with httpx.Client(base_url="http://openfaxd/v1", transport=transport) as local:
        answers = [
            local.get(path).text
            for path in (
                "/receipt-options",
                f"/inbound-routing/methods/{ROUTE_TO_EMAIL}/configurations/{line}",
                f"/inbound-routing/methods/{WEBHOOK}/configurations/{line}",
                f"/inbound-routing/methods/{WEBHOOK}/configurations/0",
                "/inbound-routing/deliveries",
                "/audit",
                "/activity",
            )
        ]
        # A PATCH that sends the mask back keeps the stored password.
        patched = local.patch("/receipt-options", json={"smtp_password": MASK})
        assert patched.status_code == 200, patched.text
        answers.append(patched.text)
    assert all(MASK in text for text in answers[:4])
    assert [s for s in SECRETS if any(s in text for text in answers)] == []
    assert stored_setting(daemon, "receipts.options")["smtp_password"] == RECEIPT_SECRET  # type: ignore[index]
    stored = stored_setting(daemon, configuration_key(WEBHOOK, line))
    assert stored["secret"] == WEBHOOK_SECRET  # type: ignore[index]


def test_the_cli_never_shows_a_secret_in_clear(site: Site) -> None:
    daemon = site.daemon
    with daemon.connected() as server:
        line = str(server.get_devices()[RECEIVER].id)
    outputs = [
        openfax(daemon, "receipts", "set", "--password", "--json", given=f"{TYPED_SECRET}\n" * 2),
        *(
            openfax(daemon, *command)
            for command in (
                ("receipts", "show"),
                ("receipts", "show", "--json"),
                ("routing", "config", ROUTE_TO_EMAIL, "--device", line),
                ("routing", "config", WEBHOOK, "--device", line, "--json"),
                ("routing", "deliveries", "--json"),
            )
        ),
    ]
    assert [o.stderr for o in outputs if o.returncode] == []
    shown = "".join(o.stdout + o.stderr for o in outputs)
    assert MASK in shown
    assert [s for s in SECRETS if s in shown] == []
    assert stored_setting(daemon, "receipts.options")["smtp_password"] == TYPED_SECRET  # type: ignore[index]
    openfax(daemon, "receipts", "set", "--password", given=f"{RECEIPT_SECRET}\n" * 2)


def test_the_log_never_holds_a_secret(site: Site) -> None:
    log = list(site.daemon.log)
    assert len(log) < (site.daemon.log.maxlen or 0), "lines were dropped: the test saw less"
    assert any("routed" in line for line in log)
    assert [s for s in SECRETS if any(s in line for line in log)] == []


def test_nobody_reads_the_database_a_received_fax_or_the_settings(site: Site) -> None:
    nobody = pwd.getpwnam("nobody")
    if os.getuid() != 0:
        pytest.skip("acting as the user nobody needs root")
    data = site.daemon.data_dir
    received = sorted((data / "spool").rglob("*.tif"))
    assert received
    # The way in is open: nobody reads a file left readable beside the data folder.
    probe = site.base / "probe.txt"
    probe.write_text("readable")
    probe.chmod(0o644)

    def cat(path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["runuser", "-u", nobody.pw_name, "--", "cat", str(path)],
            capture_output=True,
            text=True,
            timeout=30,
        )

    assert cat(probe).stdout == "readable"
    for path in (data / "openfax.db", data / "openfax.db-wal", data / "api-tokens", *received):
        read = cat(path)
        assert read.returncode != 0, path
        assert "Permission denied" in read.stderr, path
        assert not any(s in read.stdout for s in SECRETS)
    listed = subprocess.run(
        ["runuser", "-u", nobody.pw_name, "--", "ls", str(data)], capture_output=True, timeout=30
    )
    assert listed.returncode != 0


def test_a_third_party_method_s_credentials_are_masked_by_their_names() -> None:
    stored = {"smtp_password": "a", "api_token": "b", "Client_Secret": "c", "user": "d"}
    shown = masked(stored)
    assert shown == {"smtp_password": MASK, "api_token": MASK, "Client_Secret": MASK, "user": "d"}
    # Sent back with one change, the mask keeps each stored secret; a new value replaces it.
    saved = unmasked({**shown, "user": "e", "api_token": "f"}, stored)
    assert saved == {"smtp_password": "a", "api_token": "f", "Client_Secret": "c", "user": "e"}


def test_a_password_written_in_a_url_reads_masked_and_is_kept_when_saved_back() -> None:
    stored = {"url": "https://fax:pw-in-url@hooks.example/in", "attach": "link"}
    shown = masked(stored)
    assert shown == {"url": f"https://fax:{MASK}@hooks.example/in", "attach": "link"}
    assert unmasked(shown, stored) == stored
    # A new URL replaces it, and a URL that only looks masked is saved as given.
    assert unmasked({**shown, "url": "https://hooks.example/new"}, stored)["url"] == (
        "https://hooks.example/new"
    )
    given = {"url": f"https://fax:{MASK}@other.example/in"}
    assert unmasked(given, stored) == given
