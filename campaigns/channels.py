"""How a campaign's message reaches a contact.

- Email goes through Django's email framework (EMAIL_BACKEND: the console or file
  backend by default, SMTP when configured): a text part with tracked links, and an
  HTML part (the same text, escaped, links tracked, with the open pixel).
- SMS goes through a pluggable sender: SMS_SENDER names a class with
  `send(to, text)`; the default prints to the console. SMS has no open tracking.
- A Composer compiles the campaign's templates once and builds each contact's message.
"""

import sys
import threading
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.utils.html import escape
from django.utils.module_loading import import_string

from campaigns import rendering, tracking
from campaigns.models import Campaign


@dataclass
class Message:
    to: str
    subject: str
    text: str
    html: str = ""


class Composer:
    """A campaign's message for each contact (templates compiled once)."""

    def __init__(self, campaign: Campaign):
        self.campaign = campaign
        self.subject = rendering.compile_template(campaign.subject, field="subject")
        self.body = rendering.compile_template(campaign.body, field="body")

    def compose(self, contact, delivery_id: int | None = None) -> Message:
        """The message for `contact`; links and pixel tracked when `delivery_id` is
        given (a preview has none)."""
        subject = " ".join(rendering.render(self.subject, contact, field="subject").split())
        text = rendering.render(self.body, contact, field="body")
        if self.campaign.channel == Campaign.Channel.SMS:
            tracked = text if delivery_id is None else tracking.track_links(text, delivery_id)
            return Message(to=contact.phone, subject="", text=tracked)
        html = to_html(text, delivery_id)
        tracked = text if delivery_id is None else tracking.track_links(text, delivery_id)
        return Message(to=contact.email or "", subject=subject, text=tracked, html=html)


def to_html(text: str, delivery_id: int | None) -> str:
    """The text as HTML: escaped, line breaks kept, links clickable (and tracked), the
    open pixel at the end."""
    parts, last = [], 0
    for found in tracking.LINK.finditer(text):
        url, rest = tracking.split_link(found.group(0))
        href = url if delivery_id is None else tracking.click_url(delivery_id, url)
        parts.append(escape(text[last : found.start()]))
        parts.append(f'<a href="{escape(href)}">{escape(url)}</a>{escape(rest)}')
        last = found.end()
    parts.append(escape(text[last:]))
    html = "".join(parts).replace("\r\n", "\n").replace("\n", "<br>\n")
    if delivery_id is not None:
        pixel = escape(tracking.open_url(delivery_id))
        html += f'\n<img src="{pixel}" width="1" height="1" alt="">'
    return f"<!doctype html>\n<html><body>\n{html}\n</body></html>\n"


class Outbox:
    """Sends the messages of one batch: one email connection for all of them."""

    def __init__(self, campaign: Campaign):
        self.channel = campaign.channel
        self.connection = None
        self.sms = None

    def __enter__(self):
        if self.channel == Campaign.Channel.SMS:
            self.sms = import_string(settings.SMS_SENDER)()
        else:
            self.connection = get_connection(fail_silently=False)
            self.connection.open()
        return self

    def __exit__(self, *exc):
        if self.connection is not None:
            self.connection.close()

    def send(self, message: Message, *, delivery_id: int) -> None:
        """Send one message; raises when it could not be sent."""
        if self.sms is not None:
            self.sms.send(message.to, message.text)
            return
        email = EmailMultiAlternatives(
            subject=message.subject,
            body=message.text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[message.to],
            headers={"X-Kith-Delivery": str(delivery_id)},
            connection=self.connection,
        )
        email.attach_alternative(message.html, "text/html")
        if not email.send():
            raise RuntimeError("The mail server did not take the message.")


# ---------------------------------------------------------------- SMS senders


class ConsoleSmsSender:
    """The default: each SMS printed to standard output."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout

    def send(self, to: str, text: str) -> None:
        self.stream.write(f"SMS to {to}:\n{text}\n{'-' * 40}\n")
        self.stream.flush()


class MemorySmsSender:
    """Keeps what it sends in MemorySmsSender.outbox (tests, like locmem email)."""

    outbox: list[tuple[str, str]] = []
    _lock = threading.Lock()

    def send(self, to: str, text: str) -> None:
        with self._lock:
            self.outbox.append((to, text))
