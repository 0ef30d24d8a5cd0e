"""The builder's JavaScript (static/js/builder/): its pure parts are tested with Node's
own test runner (`node --test static/js/builder/tests/`), here against the catalog
the server renders today, so `make test` runs them. Without `node` they are skipped,
unless CI or REQUIRE_SERVICES is set: then they fail.

Run alone, the Node tests read a catalog kept beside them (tests/fixtures/
catalog.json); the last test here keeps that copy in step with the server."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from campaigns.models import Campaign
from config.env import REQUIRE_SERVICES, env_bool
from contacts.models import CustomAttribute
from segments import builder, services
from tests.factories import ContactFactory, EventFactory, TagFactory

ROOT = Path(__file__).resolve().parents[2]
JS_TESTS = ROOT / "static" / "js" / "builder" / "tests"
FIXTURE = JS_TESTS / "fixtures" / "catalog.json"
UPDATE = f"run with KITH_WRITE_BUILDER_CATALOG=1 to update {FIXTURE.relative_to(ROOT)}"
# What the catalog holds whatever the workspace (the rest lists its names).
STRUCTURE = [
    "kinds",
    "shapes",
    "operators",
    "negative_operators",
    "property_keys",
    "property_operators",
    "url_operators",
    "windows",
    "window_keys",
    "limits",
]

pytestmark = pytest.mark.django_db


def node() -> str:
    found = shutil.which("node")
    if found is None:
        if REQUIRE_SERVICES or env_bool("CI"):
            pytest.fail("node is missing; CI/REQUIRE_SERVICES needs the builder's JS tests to run")
        pytest.skip("node is missing (apt-get install nodejs)")
    return found


def builder_catalog(workspace) -> dict:
    """The catalog of a workspace with a little of everything the builder lists."""
    for key, kind, label in [
        ("plan", "text", "Plan"),
        ("seats", "number", ""),
        ("trial", "boolean", "Trial"),
        ("renews", "date", "Renews"),
    ]:
        CustomAttribute.objects.create(workspace=workspace, key=key, type=kind, label=label)
    for name in ("vip", "newsletter"):
        TagFactory(workspace=workspace, name=name)
    services.segment_create(workspace=workspace, name="VIP guests", kind="manual")
    Campaign.objects.create(workspace=workspace, name="Spring offer")
    contact = ContactFactory(workspace=workspace)
    EventFactory(contact=contact, name="purchase", properties={"amount": 12.5, "currency": "EUR"})
    EventFactory(contact=contact, name="page_view", properties={"url": "/pricing"})
    EventFactory(contact=contact, name="login", properties={})
    return builder.catalog(workspace)


def test_the_builders_javascript_passes_its_node_tests(workspace, tmp_path):
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps(builder_catalog(workspace)))
    result = subprocess.run(
        [node(), "--test", str(JS_TESTS)],
        cwd=ROOT,
        env={**os.environ, "KITH_BUILDER_CATALOG": str(catalog)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout


def test_the_node_tests_copy_of_the_catalog_is_what_the_server_renders(workspace):
    """Names and ids differ from one database to the next; the structure may not.
    KITH_WRITE_BUILDER_CATALOG=1 writes today's catalog there."""
    today = json.loads(json.dumps(builder_catalog(workspace)))  # as the page gets it
    if os.environ.get("KITH_WRITE_BUILDER_CATALOG"):
        FIXTURE.write_text(json.dumps(today, indent=1, ensure_ascii=False) + "\n")
    kept = json.loads(FIXTURE.read_text())
    for key in STRUCTURE:
        assert kept[key] == today[key], f"{key}: {UPDATE}"

    def shape(catalog):
        controls = lambda c: [(s["type"], s.get("key"), s.get("role")) for s in c["controls"]]  # noqa: E731
        return [(c["value"], c["kind"], controls(c)) for c in catalog["categories"]]

    assert shape(kept) == shape(today), f"categories: {UPDATE}"
