"""A large bulk action in a real browser: "all that match" on more contacts than the
threshold becomes a job; its page shows the progress bar moving while a worker runs
it, then the final state without a reload; the bell counts the notification, whose
"Open" leads to the result.

In tests, Celery tasks run inline, so a job would end inside the request that starts
it. Here the `background_worker` fixture turns that off for jobs: it runs the real runner
(jobs.runner.run) on a thread for each job sent through the app's Celery task, with
a pause between chunks, as a worker process would, only slower."""

import re
import threading
import time
import uuid

import pytest
from django.db import connections
from playwright.sync_api import expect

from contacts import jobs as contact_jobs
from jobs import runner, tasks
from tests.e2e.test_segments import sign_in

pytestmark = pytest.mark.e2e

CHUNK_SIZE = 25
PAUSE = 0.35  # seconds between chunks


@pytest.fixture
def background_worker(monkeypatch):
    """Jobs sent to Celery run on a background thread with the real runner. Only
    jobs.tasks.run_job stops being eager: the other tasks (the segment engine's) still
    run inline, so none of them lands in the development broker's queue."""
    threads: list[threading.Thread] = []

    def work(job_id):
        try:
            runner.run(job_id)
        finally:
            connections.close_all()  # this thread's own connection

    def apply_async(args=None, kwargs=None, **options):
        thread = threading.Thread(target=work, args=args, kwargs=kwargs or {}, daemon=True)
        threads.append(thread)
        thread.start()

    raise_if_cancelled = runner.JobContext.raise_if_cancelled

    def pause_then_check(context):
        time.sleep(PAUSE)  # between chunks, outside their transactions
        raise_if_cancelled(context)

    monkeypatch.setattr(tasks.run_job, "apply_async", apply_async)
    monkeypatch.setattr(runner.JobContext, "raise_if_cancelled", pause_then_check)
    monkeypatch.setattr(contact_jobs, "CHUNK_SIZE", CHUNK_SIZE)
    yield threads
    for thread in threads:
        thread.join(timeout=30)


def unread(page) -> int:
    badge = page.locator("[data-unread-count]")
    return int(badge.text_content()) if badge.count() else 0


def test_a_large_bulk_action_runs_as_a_job_with_progress_and_a_notification(
    page, base_url, background_worker, settings, screenshot
):
    settings.BULK_JOB_THRESHOLD = 100  # the live server runs in this process
    tag = f"spring-{uuid.uuid4().hex[:6]}"
    sign_in(page, base_url)
    before = unread(page)

    # Every contact: check the page, then "all that match", then tag them.
    page.locator("input[data-select-all]").check()
    everyone = page.locator("[data-select-matching]")
    expect(everyone).to_be_visible()
    expect(everyone).to_contain_text("runs in the background")
    total = everyone.get_attribute("data-total")
    everyone.locator("input").check()
    expect(page.locator("[data-selected-count]")).to_have_text(f"All {total}")
    page.get_by_label("Tag to add").fill(tag)
    screenshot("bulk-tag-all")
    page.get_by_role("button", name="Add tag").click()

    # The job's page: it started in the background.
    expect(page).to_have_url(re.compile(r"/activity/\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Add tag “{tag}”: all contacts")
    expect(page.locator(".message")).to_contain_text("Started in the background")
    expect(page.get_by_text("Cancel…")).to_be_visible()
    page.evaluate("window.stayedOnThePage = true")  # gone if the page reloads

    # The bar moves while the worker goes through the chunks...
    state = page.locator("#job-state")
    seen = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and state.get_attribute("data-job-status") != "done":
        value = state.locator("progress").get_attribute("value")
        if value is not None and (not seen or seen[-1] != int(value)):
            seen.append(int(value))
            if len(seen) == 2:
                screenshot("job-running")
        page.wait_for_timeout(200)
    assert any(0 < value < 100 for value in seen), seen
    assert seen == sorted(seen), seen

    # ... and the page shows the final state without a reload.
    expect(page.locator("#job-status")).to_have_text("Done")
    expect(state.locator("progress")).to_have_attribute("value", "100")
    expect(state).to_contain_text(f"{total} of {total}")
    expect(state).to_contain_text(f"Tagged {total} contacts with “{tag}”.")
    expect(page.get_by_role("link", name="Open the result")).to_be_visible()
    expect(page.get_by_text("Cancel…")).to_have_count(0)
    assert page.evaluate("window.stayedOnThePage") is True
    screenshot("job-done")

    # The Activity page lists it.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Activity").click()
    row = page.locator("#job-table tbody tr").first
    expect(row).to_contain_text(f"Add tag “{tag}”: all contacts")
    expect(row).to_contain_text("Done")
    expect(row).to_contain_text("Contact list action")
    screenshot("activity")

    # The bell counts the notification; it links to the result.
    assert unread(page) == before + 1
    page.get_by_role("link", name=re.compile(r"^Notifications")).first.click()
    item = page.locator(".notification").first
    expect(item).to_contain_text(f"Done: Add tag “{tag}”: all contacts")
    expect(item).to_contain_text(f"Tagged {total} contacts with “{tag}”.")
    screenshot("notification")
    item.get_by_role("button", name="Open").click()
    expect(page).to_have_url(re.compile(r"/contacts/$"))

    # Every contact has the tag: filter the list by it.
    page.locator("summary", has_text="Filters").click()
    page.get_by_label("Tag", exact=True).select_option(label=tag)
    page.get_by_role("button", name="Apply filters").click()
    expect(page.locator("#results-count")).to_contain_text(f"{total} contacts match")
    assert page.errors == [], f"Errors in the browser console: {page.errors}"
