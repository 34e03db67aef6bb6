"""``openfax accounts`` and ``openfax rights`` against a real daemon: an administrator adds
an account with a password, the account signs in with it (and with a token made for it),
rights are granted and revoked, tables and ``--json``."""

from __future__ import annotations

import json
import os
import pwd
import subprocess
from collections.abc import Iterator

import pytest

from tests.daemon import Daemon, running
from tests.integration.cli.test_fax_commands import OPENFAX


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    with running(tmp_path_factory.mktemp("openfaxd")) as started:
        yield started


def openfax(
    daemon: Daemon, *args: str, stdin: str = "", **credentials: str
) -> subprocess.CompletedProcess[str]:
    """The command as the local administrator, or as the remote account whose credentials
    (OPENFAX_USER, OPENFAX_PASSWORD or OPENFAX_TOKEN) are given."""
    env = {**os.environ, "OPENFAX_SOCKET": str(daemon.socket), "COLUMNS": "200"}
    for name in ("OPENFAX_TOKEN", "OPENFAX_USER", "OPENFAX_PASSWORD", "OPENFAX_SERVER"):
        env.pop(name, None)
    if credentials:
        env["OPENFAX_SERVER"] = daemon.address
        env.update({f"OPENFAX_{k.upper()}": v for k, v in credentials.items()})
    return subprocess.run(
        [str(OPENFAX), *args], input=stdin, capture_output=True, text=True, env=env, timeout=120
    )


def test_an_administrator_adds_an_account_that_signs_in(daemon: Daemon) -> None:
    added = openfax(daemon, "accounts", "add", "zed", "--password", "--json", stdin="pw1\npw1\n")
    assert added.returncode == 0, added.stderr
    (row,) = json.loads(added.stdout)
    assert row["account"] == "zed"
    assert row["password"] == "yes"
    assert row["rights"] == "defaults"
    listed = json.loads(openfax(daemon, "accounts", "list", "--json").stdout)
    assert "zed" in [r["account"] for r in listed]
    table = openfax(daemon, "accounts", "list")
    assert "Accounts" in table.stdout
    assert "zed" in table.stdout

    mine = openfax(daemon, "rights", "show", "--json", user="zed", password="pw1")
    assert mine.returncode == 0, mine.stderr
    assert json.loads(mine.stdout) == [
        {"principal": "zed", "rights": "SUBMIT_LOW|SUBMIT_NORMAL|SUBMIT_HIGH|QUERY_CONFIG"}
    ]
    wrong = openfax(daemon, "rights", "show", user="zed", password="nope")
    assert wrong.returncode == 1
    assert "AccessDeniedError" in wrong.stderr
    # An account may not look at every grant.
    refused = openfax(daemon, "rights", "show", "--all", user="zed", password="pw1")
    assert refused.returncode == 1
    assert "far2MANAGE_CONFIG" in refused.stderr

    made = openfax(daemon, "accounts", "token", "zed", "--label", "ci", "--json")
    token = json.loads(made.stdout)["token"]
    assert token.startswith("ofx_")
    by_token = openfax(daemon, "rights", "show", "--json", token=token)
    assert json.loads(by_token.stdout)[0]["principal"] == "zed"
    tokens = json.loads(openfax(daemon, "accounts", "token", "zed", "--list", "--json").stdout)
    assert [t["label"] for t in tokens] == ["ci"]

    changed = openfax(daemon, "accounts", "passwd", "zed", stdin="pw2\npw2\n")
    assert changed.returncode == 0, changed.stderr
    assert openfax(daemon, "rights", "show", user="zed", password="pw2").returncode == 0

    removed = openfax(daemon, "accounts", "remove", "zed")
    assert removed.returncode == 0
    assert "removed" in removed.stdout
    gone = openfax(daemon, "rights", "show", token=token)
    assert gone.returncode == 1
    assert "AccessDeniedError" in gone.stderr


def test_rights_are_granted_and_revoked(daemon: Daemon) -> None:
    assert openfax(daemon, "accounts", "add", "yan").returncode == 0
    granted = openfax(daemon, "rights", "grant", "yan", "far2QUERY_OUT_JOBS", "manage_archives")
    assert granted.returncode == 0, granted.stderr
    assert granted.stdout.strip() == (
        "yan: SUBMIT_LOW|SUBMIT_NORMAL|SUBMIT_HIGH|QUERY_OUT_JOBS|QUERY_CONFIG|MANAGE_ARCHIVES"
    )
    exact = openfax(daemon, "rights", "grant", "yan", "SUBMIT_LOW", "--exactly")
    assert exact.stdout.strip() == "yan: SUBMIT_LOW"
    group = openfax(daemon, "rights", "grant", "@faxadmins", "ALL")
    assert group.stdout.strip() == "@faxadmins: ALL"
    grants = json.loads(openfax(daemon, "rights", "show", "--all", "--json").stdout)
    assert {"principal": "yan", "rights": "SUBMIT_LOW"} in grants
    assert {"principal": "@faxadmins", "rights": "ALL"} in grants
    # Root and the daemon's user hold every right however their accounts are granted.
    for administrator in {"root", pwd.getpwuid(os.getuid()).pw_name}:
        assert {"principal": administrator, "rights": "ALL (local administrator)"} in grants
    assert "local administrator" in openfax(daemon, "rights", "show", "--all").stdout
    assert openfax(daemon, "rights", "revoke", "yan", "submit_low").stdout.strip() == "yan: NONE"
    back = openfax(daemon, "rights", "revoke", "yan")
    assert back.stdout.strip() == "yan: SUBMIT_LOW|SUBMIT_NORMAL|SUBMIT_HIGH|QUERY_CONFIG"
    ungrouped = openfax(daemon, "rights", "revoke", "@faxadmins")
    assert ungrouped.stdout.strip() == "@faxadmins: no grant"
    as_json = openfax(daemon, "rights", "grant", "yan", "SUBMIT_HIGH", "--exactly", "--json")
    # The grant as given (SUBMIT_HIGH implies the lower priorities when rights are checked).
    assert json.loads(as_json.stdout) == {"principal": "yan", "rights": "SUBMIT_HIGH"}
    bogus = openfax(daemon, "rights", "grant", "yan", "FLY")
    assert bogus.returncode == 2
    assert "no access right 'FLY'" in bogus.stderr
    unknown = openfax(daemon, "rights", "grant", "nobody-here", "ALL")
    assert unknown.returncode == 1
    assert "no fax account named 'nobody-here'" in unknown.stderr


def test_account_settings_are_shown_and_changed(daemon: Daemon) -> None:
    shown = json.loads(openfax(daemon, "accounts", "settings", "--json").stdout)
    assert shown == {"auto_create_account_on_connect": True, "incoming_faxes_are_public": True}
    changed = openfax(daemon, "accounts", "settings", "incoming_faxes_are_public=false", "--json")
    assert json.loads(changed.stdout)["incoming_faxes_are_public"] is False
    restored = openfax(daemon, "accounts", "settings", "incoming_faxes_are_public=true")
    assert restored.returncode == 0
    assert "Account settings" in restored.stdout
    wrong = openfax(daemon, "accounts", "settings", "public=yes")
    assert wrong.returncode == 2
    assert "auto_create_account_on_connect" in wrong.stderr
    missing = openfax(daemon, "accounts", "reassign", "0123456789abcdef", "yan")
    assert missing.returncode == 1
    assert "MessageNotFoundError" in missing.stderr
