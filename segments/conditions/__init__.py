"""The condition kinds of segment rules (conditions.md), one module each, in one
registry (see base.py). Segments registers its own kinds here; campaign activity is
registered by the campaigns app."""

from segments.conditions.base import (
    LANGUAGE_KINDS,
    Context,
    Kind,
    Reads,
    RuleError,
    Verdict,
    Vocabulary,
    registry,
)
from segments.conditions.device import DeviceKind
from segments.conditions.event import EventKind
from segments.conditions.field import FieldKind
from segments.conditions.segment import SegmentKind
from segments.conditions.tag import TagKind

for _kind in (FieldKind(), TagKind(), EventKind(), DeviceKind(), SegmentKind()):
    registry.register(_kind)

__all__ = [
    "LANGUAGE_KINDS",
    "Context",
    "Kind",
    "Reads",
    "RuleError",
    "Verdict",
    "Vocabulary",
    "registry",
]
