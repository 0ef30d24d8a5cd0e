"""Text a database cannot store, refused at the edge of every page and API route.

A query or form parameter (name or value) or a cookie holding a NUL character is
refused before any view sees it: PostgreSQL cannot store or even compare such
text, so it would end in a 500 wherever it reached a query (a search, a filter, a
session lookup). Lone UTF-16 surrogates cannot arrive here (Django decodes query
strings and forms with errors="replace"); inside JSON they can, and JSON is checked
as it is parsed (workspaces.params.loads_json: the API's parser, the rule builder).

The answer is a 400 that names the parameter: JSON {"error": {"code": "invalid"}}
under /api/, else a short page. The API's bodies are left to its parser: reading a
multipart body here would leave the raw body unreadable to it."""

from django.http import HttpResponseBadRequest
from django.template.loader import render_to_string

from config.api_errors import error_response
from workspaces.params import unstorable

API_PREFIX = "/api/"


class UnstorableInputMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        problem = self._problem(request)
        if problem is None:
            return self.get_response(request)
        if request.path.startswith(API_PREFIX):
            return error_response(400, "invalid", problem)
        html = render_to_string("400.html", {"message": problem}, request=None)
        return HttpResponseBadRequest(html)

    def _problem(self, request) -> str | None:
        sources = [("query parameter", request.GET), ("cookie", request.COOKIES)]
        if not request.path.startswith(API_PREFIX) and request.method == "POST":
            sources.append(("form field", request.POST))
        for kind, data in sources:
            items = data.lists() if hasattr(data, "lists") else ((k, [v]) for k, v in data.items())
            for key, values in items:
                for text in (key, *values):
                    found = unstorable(text) if isinstance(text, str) else None
                    if found:
                        name = _shown(key)
                        return f"The {kind} '{name}' contains {found}, which Kith cannot store."
        return None


def _shown(name: str) -> str:
    return name.replace("\x00", "\\u0000")[:60]
