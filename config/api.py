"""The JSON API (api.md): one NinjaAPI, its key auth and rate limit, the JSON parser,
the error handlers that give every error the shape {"error": {"code", "message"}},
and the routers of each app.

No request may end in a 500, so the parser refuses what the database or the handlers
cannot take (NUL characters, lone surrogates, infinite numbers, deep nesting: the
rules of workspaces.params, shared with the pages) with a 400 that says where, and
every known exception becomes its error code here, in one place."""

import functools
import logging

from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from django.http import Http404
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI
from ninja.errors import HttpError, Throttled
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser

from config.api_errors import CODES, document_errors, error_response
from contacts.api import events_router
from contacts.api import router as contacts_router
from segments.api import contact_segments_router
from segments.api import router as segments_router
from workspaces.api_auth import ApiKeyAuth, PerKeyRateLimit
from workspaces.errors import KithError, database_lost, describe_errors, join_errors, one_line
from workspaces.keyset import InvalidCursor
from workspaces.middleware import database_unreachable
from workspaces.params import BadInput, loads_json, unstorable

logger = logging.getLogger(__name__)


class StrictJSONParser(Parser):
    """Bodies through workspaces.params.loads_json (finite numbers that fit a bigint,
    at most MAX_DEPTH levels, no NUL or lone surrogate), and each an object."""

    def parse_body(self, request):
        data = loads_json(request.body)
        if not isinstance(data, dict):  # every body of this API is an object
            raise BadInput("The body must be a JSON object.")
        return data

    def parse_querydict(self, data, list_fields, request):
        # config.middleware has refused unstorable text in query parameters already.
        for key, values in data.lists():
            problem = next(filter(None, map(unstorable, (key, *values))), None)
            if problem:
                raise KithError(f"The query parameter {key!r} contains {problem}.")
        return super().parse_querydict(data, list_fields, request)


class KithAPI(NinjaAPI):
    """Its OpenAPI schema documents every error (config.api_errors.document_errors).
    Two additions to ninja's URLs, so that every error of this API is JSON:
    a method a path does not take is a JSON 405 (ninja answers in plain text), and
    any path no router has is a JSON 404. The catch-all is appended after every
    router, whatever order routers are added in."""

    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        """ninja documents the answers of the handlers; every error too (api.md)."""
        if path_prefix is None:
            path_prefix = self.get_root_path(path_params or {})
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        return document_errors(schema, path_prefix)

    def _get_urls(self):
        patterns = super()._get_urls()
        for pattern in patterns:
            pattern.callback = _json_not_allowed(pattern.callback)
        return [*patterns, path("<path:rest>", _unknown_path)]


def _json_not_allowed(view):
    @functools.wraps(view)  # keeps csrf_exempt, which ninja sets on its views
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and "Allow" in response:
            allowed = response["Allow"]
            json_response = error_response(
                405, "method_not_allowed", f"{request.method} is not allowed here; use {allowed}."
            )
            json_response["Allow"] = allowed
            return json_response
        return response

    return wrapper


@csrf_exempt
def _unknown_path(request, rest: str):
    return error_response(404, "not_found", f"There is no API endpoint /api/v1/{rest}.")


api = KithAPI(
    title="Kith API",
    version="1",
    description="Contacts, events and segments of one workspace; see api.md.",
    urls_namespace="api",
    auth=ApiKeyAuth(),
    throttle=[PerKeyRateLimit()],
    parser=StrictJSONParser(),
)


# ---------------------------------------------------------------- errors


@api.exception_handler(KithError)
def _kith_error(request, exc: KithError):
    """Every refusal of a service or a handler (workspaces.errors), with its code."""
    return error_response(exc.status, exc.code, str(exc), **exc.api_extra())


@api.exception_handler(NinjaValidationError)
def _invalid_input(request, exc: NinjaValidationError):
    """Pydantic's errors (ninja answers 422) as a 400 that names each field."""
    errors = describe_errors(exc.errors)
    return error_response(400, "invalid", join_errors(errors), errors=errors)


@api.exception_handler(DjangoValidationError)
def _django_validation_error(request, exc: DjangoValidationError):
    """Django's own (a model field's validator): the net under KithError."""
    extra = {"fields": exc.message_dict} if hasattr(exc, "error_dict") else {}
    return error_response(400, "invalid", one_line(exc), **extra)


@api.exception_handler(InvalidCursor)
def _bad_cursor(request, exc: InvalidCursor):
    return error_response(400, "invalid", f"cursor: {exc}", field="cursor")


@api.exception_handler(Http404)
def _not_found(request, exc: Http404):
    return error_response(404, "not_found", str(exc) or "Not found.")


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    """ninja's own errors: 401 from auth, 429 from the throttle, 400 from the body."""
    status = exc.status_code
    message = str(exc.__cause__) if isinstance(exc.__cause__, BadInput) else exc.message
    if isinstance(exc, Throttled):
        message = "Too many requests for this key; wait for Retry-After seconds."
    elif status == 401:
        message = "Send a valid API key: 'Authorization: Bearer <key>'."
    return error_response(status, CODES.get(status, "error"), message)


@api.exception_handler(RequestDataTooBig)
def _too_big(request, exc):
    return error_response(413, "too_large", "The body is too large.")


@api.exception_handler(DataError)
def _data_error(request, exc):
    # The parser and the services refuse what the database cannot store; this is the
    # net under them (a value out of a column's range, say), never a 500.
    logger.warning("API input reached the database and was refused: %s", exc)
    return error_response(400, "invalid", "A value is out of range or cannot be stored.")


@api.exception_handler(OverflowError)
def _overflow(request, exc):
    return error_response(400, "invalid", "A number is out of range.")


@api.exception_handler(Exception)
def _unexpected(request, exc):
    if database_lost(exc):  # a 503 that says so, as the pages give
        return database_unreachable(request)
    logger.exception("Unexpected error in the API", exc_info=exc)
    return error_response(500, "server_error", "Something went wrong on our side.")


# ---------------------------------------------------------------- routes

# Each app's router; the segment engine adds "/segments" here.
api.add_router("/contacts", contacts_router)
api.add_router("/contacts", contact_segments_router)
api.add_router("/events", events_router)
api.add_router("/segments", segments_router)
