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
