"""A real browser for the journeys: Debian's /usr/bin/chromium driven by Playwright's
sync API (never a downloaded browser).

The site under test is E2E_BASE_URL when set (CI points it at a running `make run`),
else pytest-django's live_server with the demo workspace (demo / demo) and a few
hundred contacts made by seed_demo's generator.
"""

import os
from pathlib import Path

import pytest

from config.env import REQUIRE_SERVICES, env_bool

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
E2E_CONTACTS = 300


@pytest.fixture(scope="package")  # closed when the browser tests are done
def browser():
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (apt-get install chromium)"
        if REQUIRE_SERVICES or env_bool("CI"):
            pytest.fail(f"{reason}; CI/REQUIRE_SERVICES needs the browser tests to run")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django refuses database
    # access from a thread with a running loop unless told it is safe (it is: the loop
    # only drives the browser). Only while the browser is up: subprocesses of other
    # tests must not inherit it (check --deploy reports it as an error).
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            yield browser
            browser.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def page(browser):
    """A fresh browser tab that records console errors and uncaught exceptions (a
    Content-Security-Policy violation shows up as a console error)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    tab.errors = []
    tab.on(
        "console", lambda msg: msg.type == "error" and tab.errors.append(f"{tab.url}: {msg.text}")
    )
    tab.on("pageerror", lambda exc: tab.errors.append(str(exc)))
    yield tab
    context.close()


@pytest.fixture
def screenshot(page):
    """screenshot("name") saves the whole page under var/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    counter = iter(range(1, 100))

    def take(name: str) -> Path:
        path = SCREENSHOTS / f"{next(counter):02d}-{name}.png"
        # caret="initial": hiding the caret would add a style attribute to the focused
        # input, which htmx then copies on its next swap (a CSP violation of our making).
        page.screenshot(path=str(path), full_page=True, caret="initial")
        return path

    return take


@pytest.fixture
def base_url(request, transactional_db, live_server):
    """The site under test. The database fixtures are named here, not requested on the
    fly: pytest-django only creates the test database for fixtures it sees when
    collecting, and would otherwise let the seeding write to the real database.

    Against E2E_BASE_URL only tests marked `any_site` run: the others make their data
    through the ORM, which only reaches pytest's own live server."""
    url = os.environ.get("E2E_BASE_URL")
    if url:
        if request.node.get_closest_marker("any_site") is None:
            pytest.skip("makes its data through the ORM: runs against the live server")
        return url.rstrip("/")
    from contacts.demo_data import demo_workspace, seed

    seed(demo_workspace(), contacts=E2E_CONTACTS, events=E2E_CONTACTS * 5, seed=2024)
    return live_server.url
