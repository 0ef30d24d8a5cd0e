"""A JSON API client for the API tests (their fixtures: tests/api_fixtures.py)."""

import json

from django.test import Client

API = "/api/v1"


class ApiClient:
    """Sends JSON with `Authorization: Bearer <key>`, CSRF checks on, as a real
    integration would (no session, no CSRF token)."""

    def __init__(self, raw_key: str | None):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {raw_key}"} if raw_key else {}
        self.client = Client(enforce_csrf_checks=True, **headers)

    def _send(self, method: str, path: str, body=None, raw: str | bytes | None = None):
        data = raw if raw is not None else (json.dumps(body) if body is not None else "")
        send = getattr(self.client, method)
        return send(f"{API}{path}", data, content_type="application/json")

    def get(self, path: str, params: dict | None = None):
        return self.client.get(f"{API}{path}", params or {})

    def post(self, path: str, body=None, *, raw=None):
        return self._send("post", path, body, raw)

    def patch(self, path: str, body=None, *, raw=None):
        return self._send("patch", path, body, raw)

    def delete(self, path: str):
        return self.client.delete(f"{API}{path}")


def error_code(response) -> str:
    body = response.json()
    assert set(body) == {"error"}, body
    assert body["error"]["message"], body
    return body["error"]["code"]
