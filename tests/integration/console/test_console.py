"""The web console in a real browser (headless Chromium) against a real openfaxd with
loopback lines: signing in and out, sending a fax to 1002 and watching it go through the
outbox, reading it in the inbox page by page, cancelling a job, the CSRF token and the
session id at sign-in, and every page at a phone's 375 px."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pypdfium2 as pdfium
import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement

from openfax.client import FaxOutgoingQueue
from tests.daemon import Daemon
from tests.waiting import wait_until

from .conftest import ACCOUNT, NEEDS_CHROMIUM, PASSWORD

pytestmark = NEEDS_CHROMIUM


@pytest.fixture
def signed_in(daemon: Daemon, browser: WebDriver) -> Iterator[WebDriver]:
    """The browser signed in as ``nurse``, signed out (its cookies gone) after the test."""
    sign_in(daemon, browser)
    yield browser
    browser.delete_all_cookies()


@pytest.fixture
def paused(daemon: Daemon) -> Iterator[FaxOutgoingQueue]:
    """The outgoing queue paused (jobs wait in the outbox) for the test, resumed after."""
    with daemon.connected() as fax:
        queue = fax.folders.outgoing_queue
        queue.paused = True
        queue.save()
        try:
            yield queue
        finally:
            queue.paused = False
            queue.save()


def sign_in(
    daemon: Daemon, browser: WebDriver, password: str = PASSWORD, account: str = ACCOUNT
) -> None:
    browser.get(f"{daemon.url}/console/sign-in")
    browser.find_element(By.ID, "account").send_keys(account)
    browser.find_element(By.ID, "password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "#sign-in button").click()
    if password == PASSWORD:
        wait_until(lambda: browser.current_url.endswith("/console/inbox"), "the inbox")


def element(browser: WebDriver, css: str) -> WebElement:
    """The element ``css`` finds, once the page has it."""
    return wait_until(lambda: first(browser, css), f"an element {css!r} on {browser.current_url}")


def first(browser: WebDriver, css: str) -> WebElement | None:
    found = browser.find_elements(By.CSS_SELECTOR, css)
    return found[0] if found else None


def click(browser: WebDriver, css: str) -> None:
    """Click ``css`` once the page has it, again if a swap replaced it meanwhile."""

    def clicked() -> bool:
        try:
            target = first(browser, css)
            if target is not None:
                target.click()
        except StaleElementReferenceException:
            return False
        return target is not None

    wait_until(clicked, f"a click on {css!r}")


def cancelled(browser: WebDriver, css: str) -> bool:
    """Whether the outbox's job ``css`` is cancelled (or gone), read in one script: the rows
    are swapped every 2 s under a test's feet."""
    status = browser.execute_script(
        "const job = document.querySelector(arguments[0]); return job && job.dataset.status",
        css,
    )
    return status is None or "CANCELED" in status


def image_loaded(browser: WebDriver, image: WebElement) -> bool:
    return bool(
        browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", image)
    )


def submit(
    browser: WebDriver, daemon: Daemon, numbers: str, files: list[Path], send_at: str = ""
) -> None:
    """Send ``files`` to ``numbers`` from the Send page with the generic cover page (at
    ``send_at``, ``YYYY-MM-DDTHH:MM`` in the server's time zone, if given); the browser is
    on the outbox after."""
    browser.get(f"{daemon.url}/console/send")
    if send_at:
        # A date-time field takes its value from a script alike in every locale.
        field = browser.find_element(By.ID, "send_at")
        browser.execute_script("arguments[0].value = arguments[1]", field, send_at)
    browser.find_element(By.ID, "recipients").send_keys(numbers)
    browser.find_element(By.ID, "files").send_keys("\n".join(str(path) for path in files))
    browser.find_element(By.ID, "subject").send_keys("Lab results")
    browser.find_element(By.CSS_SELECTOR, "#cover_page option[value=generic]").click()
    browser.find_element(By.CSS_SELECTOR, "#send button").click()
    wait_until(lambda: "/console/outbox?submitted=" in browser.current_url, "the outbox")


def test_a_signed_out_browser_sees_only_the_sign_in_page(
    daemon: Daemon, browser: WebDriver
) -> None:
    browser.get(f"{daemon.url}/")
    wait_until(lambda: "/console/sign-in?next=" in browser.current_url, "the sign-in page")
    assert browser.find_elements(By.CSS_SELECTOR, ".fax, .job, nav a") == []
    sign_in(daemon, browser, password="not the password")
    alert = element(browser, "#sign-in [role=alert]")
    assert alert.text == "Wrong account name or password."
    assert "/console/sign-in" in browser.current_url
    browser.delete_all_cookies()


def test_a_fax_sent_goes_through_the_outbox_and_is_read_in_the_inbox(
    daemon: Daemon, signed_in: WebDriver, paused: FaxOutgoingQueue, two_files: list[Path]
) -> None:
    browser = signed_in
    browser.get(f"{daemon.url}/console/inbox")
    before = len(browser.find_elements(By.CSS_SELECTOR, ".fax"))
    submit(browser, daemon, "1002", two_files)
    job = element(browser, ".job")
    assert "1002" in job.text
    assert "Lab results" in job.text
    assert "pending" in job.get_attribute("data-status").lower()
    outbox = browser.current_window_handle
    browser.switch_to.new_window("tab")
    browser.get(f"{daemon.url}/console/inbox")
    element(browser, "#faxes")
    # The queue goes on: without a reload, the fax appears in the open inbox (the event
    # stream) and leaves the open outbox (its polling).
    paused.paused = False
    paused.save()
    wait_until(
        lambda: len(browser.find_elements(By.CSS_SELECTOR, ".fax")) == before + 1,
        "the fax to appear in the open inbox",
    )
    inbox = browser.current_window_handle
    browser.switch_to.window(outbox)
    wait_until(
        lambda: first(browser, ".job") is None,
        lambda: f"the job to leave the outbox: {browser.find_element(By.ID, 'jobs').text}",
    )
    browser.close()
    browser.switch_to.window(inbox)

    newest = element(browser, ".fax")
    assert "unread" in newest.get_attribute("class")
    assert "1001" in newest.text
    assert "1002" in newest.text
    thumbnail = newest.find_element(By.CSS_SELECTOR, "img.thumbnail")
    wait_until(lambda: image_loaded(browser, thumbnail), "the thumbnail")
    newest.find_element(By.CSS_SELECTOR, "a").click()
    # A cover page, two pages of the PDF and the picture.
    assert element(browser, "#page-number").text == "Page 1 of 4"
    page = element(browser, "#page")
    wait_until(lambda: image_loaded(browser, page), "page 1")
    assert browser.execute_script("return arguments[0].naturalWidth", page) == 900
    first_page = page.get_attribute("src")
    browser.find_element(By.ID, "next").click()
    assert element(browser, "#page-number").text == "Page 2 of 4"
    page = element(browser, "#page")
    assert page.get_attribute("src") != first_page
    wait_until(lambda: image_loaded(browser, page), "page 2")
    # A page faxed sideways is turned a quarter: it is then wider than high.
    browser.find_element(By.ID, "turn").click()
    assert element(browser, "#page-number").text == "Page 2 of 4"
    page = element(browser, "#page")
    wait_until(lambda: image_loaded(browser, page), "page 2 turned")
    size = browser.execute_script(
        "return [arguments[0].naturalWidth, arguments[0].naturalHeight]", page
    )
    assert size[0] > size[1] == 900
    download = browser.find_element(By.ID, "download").get_attribute("href")
    cookies = {cookie["name"]: cookie["value"] for cookie in browser.get_cookies()}
    pdf = httpx.get(download, cookies=cookies)
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF-")
    assert pdf.headers["content-disposition"].startswith("attachment")
    printed = httpx.get(browser.find_element(By.ID, "print").get_attribute("href"), cookies=cookies)
    assert printed.headers["content-disposition"].startswith("inline")

    # Read now; a search finds it by the sender's number and not by another.
    browser.get(f"{daemon.url}/console/inbox?party=1001")
    assert "unread" not in element(browser, ".fax").get_attribute("class")
    browser.get(f"{daemon.url}/console/inbox?party=5550199")
    assert element(browser, ".empty").text == "No received fax."

    # Its page images are kept beside its PDF, and go when the fax is deleted.
    fax_id = download.split("/")[-2]
    kept = sorted(daemon.data_dir.rglob(f"in-{fax_id}-page-*.png"))
    assert [path.name.split("-page-")[1] for path in kept] == [
        "1-160.png",
        "1-900.png",
        "2-900.png",
    ]
    headers = {"Authorization": f"Bearer {daemon.token}"}
    deleted = httpx.delete(f"{daemon.url}/v1/incoming-messages/{fax_id}", headers=headers)
    assert deleted.status_code == 204
    assert list(daemon.data_dir.rglob(f"in-{fax_id}*")) == []

    # The sent fax has its transmission report: one page as long as A4, a fax line wide.
    browser.get(f"{daemon.url}/console/sent")
    element(browser, ".fax a").click()
    assert element(browser, "#page-number").text == "Page 1 of 4"
    report = httpx.get(browser.find_element(By.ID, "report").get_attribute("href"), cookies=cookies)
    assert report.status_code == 200
    document = pdfium.PdfDocument(report.content)
    assert len(document) == 1
    width, height = document[0].get_size()
    assert (round(width), round(height)) == (610, 842)


def test_a_job_sent_later_waits_and_is_cancelled_from_the_outbox(
    daemon: Daemon, signed_in: WebDriver, two_files: list[Path]
) -> None:
    browser = signed_in
    later = (datetime.now() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    submit(browser, daemon, "1002", two_files[:1], send_at=later)
    assert element(browser, ".job .next").text == f"Sends at {later.replace('T', ' ')}"
    # Its pages as they will go out: the cover page and the PDF's two.
    click(browser, ".job .actions a")
    assert element(browser, "#page-number").text == "Page 1 of 3"
    page = element(browser, "#page")
    wait_until(lambda: image_loaded(browser, page), "the cover page")
    assert browser.execute_script("return arguments[0].naturalWidth", page) == 900
    browser.find_element(By.ID, "next").click()
    assert element(browser, "#page-number").text == "Page 2 of 3"
    wait_until(lambda: image_loaded(browser, element(browser, "#page")), "page 2")
    browser.back()
    browser.back()
    click(browser, ".job button.cancel")
    wait_until(lambda: cancelled(browser, ".job"), "the job cancelled")


def test_a_post_without_the_csrf_token_is_refused_and_sign_in_renews_the_session(
    daemon: Daemon, browser: WebDriver
) -> None:
    # A session id planted before sign-in is not the one signed in (no fixation).
    browser.get(f"{daemon.url}/console/sign-in")
    planted = "planted-by-someone-else"
    browser.add_cookie({"name": "openfax_session", "value": planted, "path": "/console"})
    sign_in(daemon, browser)
    session = browser.get_cookie("openfax_session")
    assert session is not None
    assert session["value"] != planted
    assert session["httpOnly"]
    assert session["sameSite"] == "Strict"
    post = """
        const done = arguments[arguments.length - 1];
        fetch(arguments[0], {method: "POST", headers: arguments[1]})
            .then(answer => done(answer.status));
    """
    sign_out = f"{daemon.url}/console/sign-out"
    assert browser.execute_async_script(post, sign_out, {}) == 403
    assert browser.execute_async_script(post, sign_out, {"X-CSRF-Token": "guessed"}) == 403
    # Still signed in; the page's own button (with its token) signs out.
    browser.get(f"{daemon.url}/console/outbox")
    browser.find_element(By.ID, "sign-out").click()
    wait_until(lambda: "/console/sign-in" in browser.current_url, "the sign-in page")
    browser.get(f"{daemon.url}/console/outbox")
    assert "/console/sign-in?next=" in browser.current_url
    browser.delete_all_cookies()


def test_every_page_fits_a_phone_screen(daemon: Daemon, signed_in: WebDriver) -> None:
    browser = signed_in
    phone = {"width": 375, "height": 812, "deviceScaleFactor": 2, "mobile": True}
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", phone)
    try:
        browser.get(f"{daemon.url}/console/inbox")
        pages = ["/console/inbox", "/console/outbox", "/console/send", "/console/sent"]
        pages.append("/console/devices")
        viewer = first(browser, ".fax a")
        if viewer is not None:
            pages.append(viewer.get_attribute("href").removeprefix(daemon.url))
        for page in pages:
            browser.get(daemon.url + page)
            element(browser, "h1")
            width = browser.execute_script("return document.documentElement.clientWidth")
            scrolled = browser.execute_script("return document.documentElement.scrollWidth")
            assert width == 375
            assert scrolled <= width, f"{page} is {scrolled} px wide on a {width} px screen"
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_an_account_without_rights_is_refused_every_page(daemon: Daemon) -> None:
    headers = {"Authorization": f"Bearer {daemon.token}"}
    with httpx.Client(base_url=daemon.url, headers=headers) as admin:
        added = admin.post("/v1/accounts", json={"account_name": "visitor", "password": PASSWORD})
        assert added.status_code == 201, added.text
        granted = admin.put("/v1/security/grants/visitor", json={"rights": 0})
        assert granted.status_code == 204, granted.text
    with httpx.Client(base_url=daemon.url) as visitor:
        token = visitor.get("/console/sign-in").cookies["openfax_sign_in"]
        signed = visitor.post(
            "/console/sign-in",
            data={"account": "visitor", "password": PASSWORD},
            headers={"X-CSRF-Token": token},
        )
        assert signed.status_code == 204
        pages = ("/console/inbox", "/console/sent", "/console/outbox", "/console/send")
        for page in (*pages, "/console/devices"):
            refused = visitor.get(page)
            assert refused.status_code == 403, page
            assert "lacks the access right" in refused.text
            assert "frame-ancestors 'none'" in refused.headers["content-security-policy"]
        # With the form's own token, a submission is refused for want of a right.
        csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', refused.text)
        assert csrf is not None
        sent = visitor.post(
            "/console/send", data={"recipients": "1002"}, headers={"X-CSRF-Token": csrf[1]}
        )
        assert sent.status_code == 403
        assert "lacks the access right" in sent.text


AXE = Path(__file__).with_name("axe.min.js")
"""axe-core 4.14.1 (MPL-2.0, the npm package's axe.min.js as published), the accessibility
checker the browser runs on each page."""
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def test_axe_finds_no_wcag_a_or_aa_violation_on_any_page(
    daemon: Daemon, browser: WebDriver
) -> None:
    browser.get(f"{daemon.url}/console/sign-in")
    pages = [f"{daemon.url}/console/sign-in"]
    sign_in(daemon, browser)
    for page in ("inbox", "sent", "outbox", "send", "devices"):
        pages.append(f"{daemon.url}/console/{page}")
    browser.get(pages[1])
    viewer = first(browser, ".fax a")
    if viewer is not None:
        pages.append(viewer.get_attribute("href"))
    run = """
        const done = arguments[arguments.length - 1];
        axe.run(document, {runOnly: {type: "tag", values: arguments[0]}})
            .then(results => done(results.violations.map(
                v => v.id + ": " + v.help + " (" + v.nodes.map(n => n.target).join(", ") + ")")));
    """
    browser.set_script_timeout(60)
    found = {}
    try:
        for page in pages:
            if page.endswith("/sign-in"):
                browser.delete_all_cookies()
            browser.get(page)
            element(browser, "h1")
            browser.execute_script(AXE.read_text())
            violations = browser.execute_async_script(run, WCAG)
            if violations:
                found[page.removeprefix(daemon.url)] = violations
            if page.endswith("/sign-in"):
                sign_in(daemon, browser)
        console = [entry["message"] for entry in browser.get_log("browser")]
    finally:
        browser.delete_all_cookies()
    assert found == {}
    # The pages work within their Content-Security-Policy: nothing was refused.
    assert [line for line in console if "Content Security Policy" in line] == []


def test_the_lines_and_what_they_do(daemon: Daemon, signed_in: WebDriver) -> None:
    # far2QUERY_CONFIG, which accounts hold by default as on Windows (the visitor without
    # it is refused: above).
    browser = signed_in
    element(browser, "nav a[href='/console/devices']").click()
    wait_until(lambda: len(browser.find_elements(By.CSS_SELECTOR, ".device")) == 2, "2 lines")
    rows = browser.find_elements(By.CSS_SELECTOR, ".device")
    names = [row.find_element(By.TAG_NAME, "th").text for row in rows]
    assert names == ["loopback line 1001", "loopback line 1002"]


def test_numbers_are_checked_as_they_are_typed(daemon: Daemon, signed_in: WebDriver) -> None:
    browser = signed_in
    browser.get(f"{daemon.url}/console/send")
    typed = browser.find_element(By.ID, "recipients")
    typed.send_keys("1002, call me maybe")
    check = browser.find_element(By.ID, "recipients-check")
    wait_until(lambda: "is not a fax number" in check.text, "the number refused")
    assert "'call me maybe'" in check.text
    assert "1002" not in check.text
    typed.clear()
    typed.send_keys("1002")
    wait_until(lambda: check.text == "", "the number taken")


def test_a_group_of_the_address_book_is_a_broadcast(daemon: Daemon, signed_in: WebDriver) -> None:
    headers = {"Authorization": f"Bearer {daemon.token}"}
    with httpx.Client(base_url=f"{daemon.url}/v1/address-book/shared", headers=headers) as book:
        # Sent an hour later and cancelled before: neither number is dialled.
        for name, number in (("Ward 3", "1002"), ("Ward 4", "1001")):
            contact = {"name": name, "fax_number": number, "groups": ["wards"]}
            added = book.post("/contacts", json=contact)
            assert added.status_code == 201, added.text
    browser = signed_in
    browser.get(f"{daemon.url}/console/send")
    assert "Ward 3 (1002)" in element(browser, "#contacts").text
    browser.find_element(By.CSS_SELECTOR, ".groups input[value=wards]").click()
    later = (datetime.now() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    field = browser.find_element(By.ID, "send_at")
    browser.execute_script("arguments[0].value = arguments[1]", field, later)
    browser.find_element(By.CSS_SELECTOR, "#cover_page option[value=generic]").click()
    browser.find_element(By.ID, "note").send_keys("Rounds at 9")
    browser.find_element(By.CSS_SELECTOR, "#send button").click()
    wait_until(lambda: "/console/outbox?submitted=" in browser.current_url, "the outbox")
    wait_until(lambda: len(browser.find_elements(By.CSS_SELECTOR, ".job")) == 2, "2 jobs")
    parties = sorted(job.text for job in browser.find_elements(By.CSS_SELECTOR, ".job .party"))
    assert parties == ["1001 (Ward 4)", "1002 (Ward 3)"]
    for job in [job.get_attribute("id") for job in browser.find_elements(By.CSS_SELECTOR, ".job")]:
        click(browser, f"#{job} button.cancel")
        wait_until(lambda: cancelled(browser, f"#{job}"), f"{job} cancelled")  # noqa: B023
