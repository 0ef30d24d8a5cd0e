"""A file email backend for the worker-death tests: while a file `hold` is in the mail
folder, it writes `held` (the delivery it holds) and waits before writing the next
message, so a test can kill the worker at a known point: in the middle of a send,
with the message not written."""

import time
from pathlib import Path

from django.core.mail.backends import filebased


class HoldingFileBackend(filebased.EmailBackend):
    def send_messages(self, messages):
        folder = Path(self.file_path)
        for message in messages:
            if (folder / "hold").exists():
                (folder / "held").write_text(message.extra_headers.get("X-Kith-Delivery", ""))
                time.sleep(120)
        return super().send_messages(messages)
