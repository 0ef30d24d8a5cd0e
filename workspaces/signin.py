"""Throttled sign-in, on the site (/accounts/login/) and in the admin (/admin/login/).

- django-axes counts failed sign-ins per address and per user name, separately
  (AXES_LOCKOUT_PARAMETERS): one address trying many names and many addresses trying
  one name are both stopped. Past SIGNIN_FAILURE_LIMIT failures, every sign-in of that
  address or name is refused, the right password too, until SIGNIN_COOLOFF_MINUTES have
  passed since the last failure; tries while refused do not make the wait longer.
- The refusal is the sign-in page it was made on, with a message saying so (status
  429), never a bare error page.
- A successful sign-in forgets only the failures of that name from that address (axes
  would forget everything of the address: someone with an account of their own could
  then wipe the count of an address guessing other people's passwords).
- The address is REMOTE_ADDR; behind the production proxy, the address that proxy put
  in X-Forwarded-For (client_ip_behind_proxy, production settings only: without a proxy
  the header is whatever the client wrote).
- A sign-in with no request (authenticate() in a shell or a test) is not a web sign-in
  and is not counted.
- The user name is counted as typed, cut to USERNAME_MAX characters: Django's sign-in
  form does not limit it, and a longer one would not fit the attempts table (a 500).
"""

import ipaddress
from datetime import timedelta

from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.http import HttpResponse
from django.template.response import TemplateResponse

USERNAME_MAX = AccessAttempt._meta.get_field("username").max_length


def username_of(request, credentials=None) -> str | None:
    """The user name the attempt is counted under (AXES_USERNAME_CALLABLE)."""
    field = settings.AXES_USERNAME_FORM_FIELD
    source = credentials if credentials else getattr(request, "POST", {})
    username = source.get(field)
    return username[:USERNAME_MAX] if isinstance(username, str) else username


class SignInThrottle(AxesStandaloneBackend):
    """Refuses a sign-in of a locked-out address or name (before the password is
    checked); with no request there is nothing to throttle."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


class SignInAttempts(AxesDatabaseHandler):
    def reset_user_attempts(self, request, credentials=None) -> int:
        """On success, forget the failures of this name from this address only."""
        username = get_client_username(request, credentials)
        count, _ = AccessAttempt.objects.filter(
            username=username, ip_address=request.axes_ip_address
        ).delete()
        return count


def _duration(delta: timedelta) -> str:
    minutes = max(1, round(delta.total_seconds() / 60))
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour{'s' * (hours != 1)}"
    return f"{minutes} minute{'s' * (minutes != 1)}"


def lockout_message() -> str:
    return (
        "Too many failed sign-in attempts. Signing in is paused for "
        f"{_duration(settings.AXES_COOLOFF_TIME)}; try again later."
    )


def lockout_response(request, original_response=None, credentials=None) -> HttpResponse:
    """The sign-in page that was posted to, drawn again with the lockout message as its
    form's error (AXES_LOCKOUT_CALLABLE)."""
    context = getattr(original_response, "context_data", None) or {}
    form = context.get("form")
    if form is None or not isinstance(original_response, TemplateResponse):
        return HttpResponse(lockout_message(), content_type="text/plain", status=429)
    form.errors.clear()
    form.add_error(None, lockout_message())
    response = TemplateResponse(
        request, original_response.template_name, context, status=429, using=None
    )
    return response.render()


def client_ip_behind_proxy(request) -> str | None:
    """The client's address as the proxy in front of the app saw it: the last entry of
    X-Forwarded-For is the one the proxy added (the ones before it came from the client
    and prove nothing). With TRUSTED_PROXY_COUNT proxies in a row, the one that many
    from the end. REMOTE_ADDR when the header is missing, too short or not an address."""
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    count = getattr(settings, "TRUSTED_PROXY_COUNT", 1)
    if count and len(forwarded) >= count:
        try:
            return str(ipaddress.ip_address(forwarded[-count]))
        except ValueError:
            pass
    return request.META.get("REMOTE_ADDR")
