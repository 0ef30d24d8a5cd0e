"""Rendering helpers shared by the HTML views."""

from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme

MAX_URL_LENGTH = 2000  # a `next` longer than any page of ours (redirect() refuses 16,384)


def wants_fragment(request) -> bool:
    """An HTMX request for part of a page. A history-restore request (the browser's
    back button after a cache miss) needs the whole page."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request


def render_page_or_fragment(request, template: str, fragment: str, context: dict, status=200):
    """The full page, or only `template#fragment` for an HTMX request. Both come from
    the same URL, so caches must key on HX-Request too."""
    partial = wants_fragment(request)
    name = f"{template}#{fragment}" if partial else template
    response = render(request, name, {**context, "fragment": partial}, status=status)
    patch_vary_headers(response, ("HX-Request",))
    return response


def safe_next(request, fallback: str) -> str:
    """The `next` URL of a form if it stays on this site, else `fallback`."""
    return safe_url(request, request.POST.get("next") or request.GET.get("next"), fallback)


def safe_url(request, target: str | None, fallback: str) -> str:
    """`target` if it is a path on this site, else `fallback`. Only a path: redirect()
    takes any other text for the name of a view (a 500 when there is none)."""
    if (
        target
        and target.startswith("/")
        and len(target) <= MAX_URL_LENGTH
        and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return target
    return fallback
