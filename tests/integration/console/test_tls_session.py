"""The console's session cookie is Secure when the listener speaks TLS (no browser: the
answer's Set-Cookie says it)."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx

from tests.daemon import running
from tests.peers import self_signed_certificate

from .conftest import ACCOUNT, PASSWORD


def test_over_tls_the_session_cookie_is_secure(tmp_path: Path) -> None:
    cert, key = self_signed_certificate(tmp_path)
    tls = {"tls_certificate": str(cert), "tls_key": str(key)}
    with running(tmp_path / "openfaxd", api=tls) as daemon:
        assert daemon.url.startswith("https://")
        trusted = ssl.create_default_context(cafile=cert)
        headers = {"Authorization": f"Bearer {daemon.token}"}
        with httpx.Client(base_url=daemon.url, headers=headers, verify=trusted) as admin:
            added = admin.post("/v1/accounts", json={"account_name": ACCOUNT, "password": PASSWORD})
            assert added.status_code == 201, added.text
        with httpx.Client(base_url=daemon.url, verify=trusted) as browser:
            form = browser.get("/console/sign-in")
            assert "; secure" in form.headers["set-cookie"].lower()
            signed = browser.post(
                "/console/sign-in",
                data={"account": ACCOUNT, "password": PASSWORD},
                headers={"X-CSRF-Token": form.cookies["openfax_sign_in"]},
            )
            assert signed.status_code == 204
            session = next(
                line
                for line in signed.headers.get_list("set-cookie")
                if line.startswith("openfax_session=")
            )
            flags = {flag.strip().lower() for flag in session.split(";")[1:]}
            assert {"secure", "httponly", "samesite=strict", "path=/console"} <= flags
