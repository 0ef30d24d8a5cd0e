"""Open and click tracking: URLs that carry a signed token (django.core.signing).

- The open pixel's token names a delivery; the click's names a delivery and the one URL
  it was made for, so the redirect can only lead where the message's own link led (no
  open redirect: a token edited by hand fails its signature).
- The links of a message are rewritten to the click URL when it is built; only http and
  https links are (a mailto: stays as it is).
- These two URLs need no sign-in: they are opened from a mail program.
"""

import functools
import re

from django.conf import settings
from django.core import signing
from django.urls import reverse

OPEN_SALT = "campaigns.tracking.open"
CLICK_SALT = "campaigns.tracking.click"
LINK = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
TRAILING = ".,;:!?)]}"
# The 1x1 transparent GIF the pixel answers with.
PIXEL = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00!\xf9\x04\x01\x00\x00\x00"
    b"\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)


class BadToken(Exception):
    pass


@functools.cache
def _path(name: str) -> tuple[str, str]:
    """The URL's path around its token, reversed once (a reverse per link was a
    tenth of a message's time)."""
    before, after = reverse(name, args=["TOKEN"]).split("TOKEN")
    return before, after


def _absolute(name: str, token: str) -> str:
    before, after = _path(name)
    return f"{settings.KITH_BASE_URL.rstrip('/')}{before}{token}{after}"


def open_url(delivery_id: int) -> str:
    return _absolute("tracking:open", signing.dumps(delivery_id, salt=OPEN_SALT, compress=True))


def click_url(delivery_id: int, url: str) -> str:
    token = signing.dumps([delivery_id, url], salt=CLICK_SALT, compress=True)
    return _absolute("tracking:click", token)


def read_open(token: str) -> int:
    try:
        delivery_id = signing.loads(token, salt=OPEN_SALT)
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise BadToken() from exc
    if isinstance(delivery_id, bool) or not isinstance(delivery_id, int):
        raise BadToken()
    return delivery_id


def read_click(token: str) -> tuple[int, str]:
    try:
        delivery_id, url = signing.loads(token, salt=CLICK_SALT)
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise BadToken() from exc
    if isinstance(delivery_id, bool) or not isinstance(delivery_id, int):
        raise BadToken()
    if not isinstance(url, str) or not LINK.fullmatch(url):
        raise BadToken()
    return delivery_id, url


def split_link(match: str) -> tuple[str, str]:
    """A link found in text and the punctuation after it that is not part of it."""
    url = match.rstrip(TRAILING)
    return url, match[len(url) :]


def track_links(text: str, delivery_id: int) -> str:
    """`text` with each http(s) link replaced by its click-tracking URL."""

    def replace(found: re.Match) -> str:
        url, rest = split_link(found.group(0))
        return click_url(delivery_id, url) + rest

    return LINK.sub(replace, text)
