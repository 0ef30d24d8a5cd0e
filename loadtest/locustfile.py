"""The load of issue 24, for locust: marketers on the pages and integrations on the
API at the same time. bench/load.py prepares the workspace and writes what the
users need (a user name and password, a segment, one API key per simulated user)
to the JSON file named by LOAD_CONFIG, then runs this file headless:

    LOAD_CONFIG=var/load.json .venv/bin/locust -f loadtest/locustfile.py --headless \
        -u 50 -r 25 -t 120s --host http://127.0.0.1:8100

- Marketer: signed in (a session bench/load.py made, one per user), opens the
  segment dashboard, the contacts list and the segment's page in turn, with think
  time. Signing in itself is left out: a real marketer signs in once a day, and its
  deliberately slow password hash would only measure the hasher.
- Integration: its own API key (as each real integration has; the rate limit per
  key stays on), reads the segment's members page by page, and posts events in
  batches (EVENTS_PER_POST each). Every answer but the expected status is a failure.

Each request is named by its endpoint, so locust's stats are per endpoint.
Users take turns at what they are handed (sessions, keys, the first page), so every
endpoint is hit from the first second."""

import collections
import itertools
import json
import os
import random
import threading
from datetime import UTC, datetime

from locust import HttpUser, between, task

CONFIG = json.loads(open(os.environ["LOAD_CONFIG"], encoding="utf-8").read())  # noqa: SIM115
EVENTS_PER_POST = int(CONFIG.get("events_per_post", 50))
EVENT_NAMES = ["page_viewed", "email_opened", "purchase", "app_opened"]
_handed = collections.defaultdict(itertools.count)
_handed_lock = threading.Lock()


def hand_out(what: str, things: list):
    """The next of `things` for a new simulated user (they take turns, per `what`)."""
    with _handed_lock:
        return things[next(_handed[what]) % len(things)]


def expect(response, status: int) -> None:
    if response.status_code != status:
        response.failure(f"{response.status_code} (expected {status}): {response.text[:200]}")
    else:
        response.success()


class Marketer(HttpUser):
    """Opens the pages in turn, each user from another page, so that however short
    the run every page is opened."""

    weight = 3
    wait_time = between(0.5, 2)
    pages = [
        ("/segments/", "dashboard"),
        ("/contacts/", "contacts list"),
        ("/segments/{segment_id}/", "segment page"),
    ]

    def on_start(self):
        # Signed in already: bench/load.py made the session, as a browser keeps one.
        self.client.cookies.set("sessionid", hand_out("session", CONFIG["sessions"]))
        self.turn = hand_out("page", list(range(len(self.pages))))

    @task
    def browse(self):
        path, name = self.pages[self.turn % len(self.pages)]
        self.turn += 1
        with self.client.get(path.format(**CONFIG), name=name, catch_response=True) as answer:
            expect(answer, 200)


class Integration(HttpUser):
    weight = 2
    wait_time = between(0.2, 0.6)

    def on_start(self):
        self.client.headers["Authorization"] = f"Bearer {hand_out('key', CONFIG['keys'])}"
        self.cursor = None
        self.rng = random.Random()
        self.turn = hand_out("call", [0, 1])

    @task
    def call(self):
        # Events three times for members twice, starting at either.
        (self.events, self.members, self.events, self.members, self.events)[self.turn % 5]()
        self.turn += 1

    def members(self):
        path = f"/api/v1/segments/{CONFIG['segment_id']}/members?limit=100"
        if self.cursor:
            path += f"&cursor={self.cursor}"
        with self.client.get(path, name="members API", catch_response=True) as answer:
            expect(answer, 200)
            if answer.status_code == 200:
                self.cursor = answer.json().get("next_cursor")

    def events(self):
        now = datetime.now(UTC).isoformat()
        batch = [
            {
                "contact": {"id": self.rng.choice(CONFIG["contact_ids"])},
                "name": self.rng.choice(EVENT_NAMES),
                "occurred_at": now,
                "properties": {"load": True, "value": self.rng.randrange(100)},
            }
            for _ in range(EVENTS_PER_POST)
        ]
        with self.client.post(
            "/api/v1/events", json={"events": batch}, name="events API", catch_response=True
        ) as answer:
            expect(answer, 202)
