"""Every route of the project, read from the URL resolver and the OpenAPI schema, for
the tests that walk them all (tests/test_isolation.py, tests/test_hostile.py): a new
page or API route is walked the day it is added.

A page pattern with an id must be mapped in OBJECT_OF to the kind of object it names,
or the walkers fail and say so."""

import re

from django.urls import URLPattern, URLResolver, get_resolver

# Which kind of object a URL's <pk> names, by URL name.
OBJECT_OF = {
    "contacts:detail": "contact",
    "contacts:edit": "contact",
    "contacts:delete": "contact",
    "contacts:tags_add": "contact",
    "contacts:tags_remove": "contact",
    "contacts:attribute_edit": "attribute",
    "contacts:attribute_delete": "attribute",
    "contacts:tag_rename": "tag",
    "contacts:tag_delete": "tag",
    "contacts:topic_delete": "topic",
    "workspaces:notification_read": "notification",
    "workspaces:member_role": "membership",
    "workspaces:member_remove": "membership",
    "workspaces:api_key_revoke": "api_key",
    "segments:detail": "segment",
    "segments:members_add": "segment",
    "segments:members_remove": "segment",
    "segments:usage": "segment",
    "segments:history": "segment",
    "segments:activity": "segment",
    "segments:settings": "segment",
    "segments:clone": "segment",
    "segments:save_as_list": "segment",
    "segments:archive": "segment",
    "segments:delete": "segment",
    "segments:mass_update": "segment",
    "segments:reset_score": "segment",
    "segments:remove_all": "segment",
    "segments:delete_all": "segment",
    "segments:contact_segments": "contact",
    "segments:contact_add": "contact",
    "segments:contact_remove": "contact",
    "segments:contact_why": "contact",
    "segments:conditions": "segment",
    "jobs:detail": "job",
    "jobs:progress": "job",
    "jobs:cancel": "job",
    "jobs:download": "job",
    "campaigns:detail": "campaign",
    "campaigns:edit": "campaign",
    "campaigns:send": "campaign",
    "campaigns:schedule": "campaign",
    "campaigns:activate": "campaign",
    "campaigns:pause": "campaign",
    "campaigns:delete": "campaign",
    "imports:detail": "import",
    "imports:map": "import",
    "imports:review": "import",
    "imports:run": "import",
    "imports:cancel": "import",
}
# Pages for people who are not signed in (Django's own sign-in and password reset).
PUBLIC = {
    "login",
    "logout",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
    # A campaign message's open pixel and click redirect, opened from mail programs.
    "tracking:open",
    "tracking:click",
}
PARAM = re.compile(r"<(?:\w+:)?(\w+)>")


def url_patterns(patterns=None, prefix="", namespace=None):
    """(name, pattern) of every page: the admin and the API are walked apart."""
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(pattern, URLResolver):
            if str(pattern.pattern).startswith(("admin/", "api/")):
                continue
            yield from url_patterns(
                pattern.url_patterns, prefix + str(pattern.pattern), pattern.namespace or namespace
            )
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace else pattern.name
            yield name, prefix + str(pattern.pattern)


def page_urls(objects: dict, *, pk: str | None = None):
    """(name, path) of every page that needs a signed-in member, each id filled with
    the object of `objects` its pattern names (or with `pk`, when given)."""
    for name, pattern in url_patterns():
        if name in PUBLIC:
            continue
        if PARAM.search(pattern):
            assert name in OBJECT_OF, f"Map the URL '{name}' ({pattern}) in OBJECT_OF."
            value = pk if pk is not None else str(objects[OBJECT_OF[name]].pk)
            path = PARAM.sub(value, pattern)
        else:
            path = pattern
        yield name, "/" + path


def api_schema(client) -> dict:
    return client.get("/api/v1/openapi.json").json()


def api_routes(client):
    """(method, path) of every operation of the API's OpenAPI schema."""
    for path, operations in api_schema(client)["paths"].items():
        for method in operations:
            yield method, path
