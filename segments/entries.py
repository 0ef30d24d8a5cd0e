"""Announcing that contacts entered a segment, for apps above segments (campaigns
triggered by a segment) without segments importing them.

The history table (SegmentChange) is the record of who entered: a listener is only a
wake-up call, made after the commit, with the workspace and the segment. A listener
that is never called (the worker died right after the commit) loses nothing: whoever
reads the history by id from where it stopped finds the entry there.

Rows of one segment's history are written under that segment's row lock, so their
ids grow in the order they commit: reading "id > the last one I saw" misses nothing.
"""

import logging
from collections.abc import Callable

from django.db import transaction

logger = logging.getLogger(__name__)

Listener = Callable[[int, int], None]  # (workspace_id, segment_id)
_listeners: list[Listener] = []


def register_listener(listener: Listener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def entered(workspace_id: int, segment_id: int) -> None:
    """Contacts entered the segment in the current transaction (with triggers=True
    history rows): listeners hear of it after the commit."""
    if _listeners:
        transaction.on_commit(lambda: _call(workspace_id, segment_id))


def _call(workspace_id: int, segment_id: int) -> None:
    for listener in list(_listeners):
        try:
            listener(workspace_id, segment_id)
        except Exception:  # a wake-up that fails is made again by the sweep
            logger.exception("Entry listener %r failed for segment %s", listener, segment_id)
