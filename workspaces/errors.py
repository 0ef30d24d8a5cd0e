"""The one error of Kith's rules. A service refuses what it must not do by raising
KithError, or an app's subclass of it (contacts.services.DuplicateContact,
segments.services.SegmentError...); it is turned into an answer in two places only:
config/api.py (the API's {"error": {"code", "message", ...}}) and
workspaces.forms.add_service_error (beside the form field it concerns).

- `message`: one sentence for whoever reads it, naming things by their names.
- `field`, or `fields` for several at once ({"email": [...], "score": [...]}): the
  input it concerns, so a page shows it beside that field and the API names it.
- `path`: where in a rule document (segments), `code` and `status`: the API's
  (api.md; a subclass sets them once), `extra`: more for the API body ("usage").

It is a Django ValidationError too, so Django's forms and admin treat it as the
input's fault (shown, not a 500) wherever a service is called from them."""

from django.core.exceptions import ValidationError
from django.db import InterfaceError, OperationalError, connection


class KithError(ValidationError):
    code = "invalid"
    status = 400

    def __init__(
        self,
        message: str = "",
        *,
        field: str | None = None,
        fields: dict[str, list[str]] | None = None,
        path: str | None = None,
        code: str | None = None,
        status: int | None = None,
        **extra,
    ):
        if field is not None and not fields:
            fields = {field: [message]}
        fields = {name: [str(m) for m in messages] for name, messages in (fields or {}).items()}
        if len(fields) == 1 and field is None:
            (field,) = fields
        self.field, self.fields, self.path, self.extra = field, fields, path, extra
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        if fields:
            super().__init__(fields, code=self.code)
            message = message or " ".join(" ".join(m) for m in fields.values())
        else:
            super().__init__(message, code=self.code)
        self.message = message

    def by_field(self) -> dict[str | None, list[str]]:
        """Each message with the field it concerns (None: the input as a whole)."""
        return dict(self.fields) if self.fields else {None: [self.message]}

    def __str__(self) -> str:
        """One line, naming the fields: "email: ... ; score: ..." (the API's message,
        a job's error, a log line)."""
        if not self.fields:
            return self.message
        return "; ".join(f"{name}: {' '.join(messages)}" for name, messages in self.fields.items())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def api_extra(self) -> dict:
        """What the API's error body holds beside code and message."""
        body = {}
        if self.field:
            body["field"] = self.field
        if self.fields:
            body["fields"] = self.fields
        if self.path is not None:
            body["path"] = self.path
        return {**body, **self.extra}


def one_line(exc: ValidationError) -> str:
    """Any validation error as one line: a KithError as it says itself, Django's own
    (a form field's, a model validator's) the same way."""
    if isinstance(exc, KithError):
        return str(exc)
    return "; ".join(
        f"{name}: {' '.join(messages)}" if name else " ".join(messages)
        for name, messages in errors_by_field(exc).items()
    )


def sentences(exc: ValidationError) -> str:
    """What a page says of an error shown away from its form: its sentences, without
    the field names the API's line puts before them."""
    return " ".join(m for messages in errors_by_field(exc).values() for m in messages)


def errors_by_field(exc: ValidationError) -> dict[str | None, list[str]]:
    """Each message of an error with the field it concerns (None: the whole input)."""
    if isinstance(exc, KithError):
        return exc.by_field()
    if hasattr(exc, "error_dict"):
        return {None if k == "__all__" else k: v for k, v in exc.message_dict.items()}
    return {None: exc.messages}


# ---------------------------------------------------------------- pydantic's errors in words


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


# SQLSTATEs of a connection that went away: the server shutting down or not ready yet
# (57P01-57P03), any connection exception (08...). None at all: the client found the
# connection closed, or could not open one. (A deadlock or a statement timeout is an
# OperationalError too, with a connection that still works: not this.)
CONNECTION_LOST = ("57P01", "57P02", "57P03", "08")


def database_lost(exc: BaseException | None) -> bool:
    """The database connection went away. Told by the error, not by the connection's
    state: Django opens a new one on its own as soon as it is used again."""
    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    if connection.vendor != "postgresql":
        return False  # SQLite's are about the file ("database is locked"), not a server
    state = getattr(exc.__cause__, "sqlstate", None)
    return state is None or state.startswith(CONNECTION_LOST)
