"""The error every API handler raises, and the JSON shape of every error (api.md):
{"error": {"code": "...", "message": "...", ...extra}}.

Kept apart from config/api.py so that routers can import it without importing the
NinjaAPI instance that imports them."""

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


class ApiError(Exception):
    """Answer `status` with `code`, `message` and any extra fields beside them."""

    def __init__(self, status: int, code: str, message: str, **extra):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def error_response(status: int, code: str, message: str, **extra) -> HttpResponse:
    body = {"error": {"code": code, "message": message, **extra}}
    return HttpResponse(
        json.dumps(body, cls=NinjaJSONEncoder),
        status=status,
        content_type="application/json; charset=utf-8",
    )


def field_path(loc, *, from_request: bool = True) -> str:
    """Where a pydantic error is, as a caller would write it:
    ('body', 'payload', 'contacts', 3, 'email') -> 'contacts[3].email'."""
    parts = list(loc)
    if from_request and parts and parts[0] in ("body", "query", "path"):
        source = parts.pop(0)
        if source == "body" and parts:
            parts.pop(0)  # the handler's argument name, which callers never see
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def error_text(error: dict) -> str:
    if error.get("type") == "extra_forbidden":
        return "unknown field"
    if error.get("type") == "missing":
        return "this field is required"
    return error.get("msg", "Invalid value.")


def describe_errors(errors: list[dict], *, from_request: bool = True) -> list[dict]:
    """pydantic's error dicts as [{"field", "message"}]."""
    return [
        {
            "field": field_path(error.get("loc", ()), from_request=from_request),
            "message": error_text(error),
        }
        for error in errors
    ]


def join_errors(described: list[dict]) -> str:
    return "; ".join(
        f"{e['field']}: {e['message']}" if e["field"] else e["message"] for e in described
    )
