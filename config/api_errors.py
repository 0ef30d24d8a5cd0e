"""The JSON shape of every error of the API (api.md):
{"error": {"code": "...", "message": "...", ...extra}}. Handlers raise
workspaces.errors.KithError; config/api.py answers it with this shape."""

import json

from django.http import HttpResponse
from ninja.responses import NinjaJSONEncoder

# The code of an error that only has a status (ninja's own 401, 429...).
CODES = {
    400: "invalid",
    401: "unauthenticated",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    429: "rate_limited",
    500: "server_error",
}


def error_response(status: int, code: str, message: str, **extra) -> HttpResponse:
    body = {"error": {"code": code, "message": message, **extra}}
    return HttpResponse(
        json.dumps(body, cls=NinjaJSONEncoder),
        status=status,
        content_type="application/json; charset=utf-8",
    )


# ---------------------------------------------------------------- in the OpenAPI schema

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
            },
            "additionalProperties": True,
        }
    },
}
# What each status means, and its codes (api.md, Errors).
STATUSES = {
    "400": "Invalid body, query or path: `invalid`; `invalid_conditions` (with `path`).",
    "401": "Missing, unknown or revoked key: `unauthenticated`.",
    "404": "No such object in this workspace: `not_found`.",
    "409": "Conflict with the current state: {codes}.",
    "413": "Body or batch too large: `too_large`.",
    "429": "Rate limited (see Retry-After): `rate_limited`.",
}
# Lists filtered by an object that must exist in the workspace (a 404 otherwise).
FILTERED_BY_OBJECT = {("get", "/contacts")}  # ?segment=
# The operations that can conflict with the current state, and how.
CONFLICTS = {
    ("post", "/contacts"): ["duplicate_contact"],
    ("patch", "/contacts/{contact_id}"): ["duplicate_contact"],
    ("post", "/segments"): ["duplicate_name", "segment_limit"],
    ("post", "/segments/bulk"): ["segment_limit"],
    ("patch", "/segments/{segment_id}"): ["duplicate_name"],
    ("delete", "/segments/{segment_id}"): ["segment_in_use"],
    ("post", "/segments/{segment_id}/members"): ["segment_not_manual"],
    ("post", "/segments/{segment_id}/members/remove"): ["segment_not_manual"],
    ("post", "/segments/{segment_id}/clone"): ["duplicate_name", "segment_limit"],
    ("post", "/segments/{segment_id}/save-as-list"): ["duplicate_name", "segment_limit"],
}


def document_errors(schema: dict, prefix: str) -> dict:
    """Add to every operation of an OpenAPI schema the errors it can answer, with the
    error body: 400, 401 and 429 everywhere, 404 with an id in the path (or a filter
    naming an object), 413 with a body, 409 where CONFLICTS says."""
    schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path, operations in schema.get("paths", {}).items():
        route = path.removeprefix(prefix.rstrip("/"))
        for method, operation in operations.items():
            statuses = ["400", "401", "429"]
            if "{" in path or (method, route) in FILTERED_BY_OBJECT:
                statuses.append("404")
            if "requestBody" in operation:
                statuses.append("413")
            conflicts = CONFLICTS.get((method, route))
            if conflicts:
                statuses.append("409")
            codes = ", ".join(f"`{code}`" for code in conflicts or ())
            for status in sorted(statuses):
                operation["responses"].setdefault(
                    status,
                    {
                        "description": STATUSES[status].format(codes=codes),
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                        },
                    },
                )
    return schema
