"""The console's browser tests: one openfaxd per test module with an account that signs in
with a password, and one headless Chromium (Debian's, through its chromedriver) per module."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.daemon import Daemon, running

ACCOUNT = "nurse"
PASSWORD = "correct horse battery staple"
CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
NEEDS_CHROMIUM = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="Debian's chromium and chromium-driver are not installed (make test installs them)",
)


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """openfaxd whose line 1 (1001) sends and line 2 (1002) only receives, with the
    account ``nurse`` (the default rights: its own faxes) signing in by password."""
    with running(tmp_path_factory.mktemp("openfaxd")) as started:
        with started.connected() as fax:
            receiver = fax.get_devices()["loopback line 1002"]
            receiver.send_enabled = False
            receiver.save()
        headers = {"Authorization": f"Bearer {started.token}"}
        with httpx.Client(base_url=started.url, headers=headers) as admin:
            added = admin.post("/v1/accounts", json={"account_name": ACCOUNT, "password": PASSWORD})
            assert added.status_code == 201, added.text
        yield started


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """A headless Chromium driven by Selenium; its cookies are the test's to clear."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    assert CHROMIUM is not None
    assert CHROMEDRIVER is not None
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument("--window-size=1280,900")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # for get_log("browser")
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def two_files(tmp_path: Path) -> list[Path]:
    """A PDF of two pages and a picture: the bodies of a fax."""
    from PIL import Image, ImageDraw

    from tests.factories import make_pdf

    pdf = make_pdf(tmp_path / "letter.pdf", 2)
    picture = Image.new("L", (850, 1100), 255)
    ImageDraw.Draw(picture).rectangle((100, 100, 750, 400), fill=0)
    png = tmp_path / "chart.png"
    picture.save(png)
    return [pdf, png]
