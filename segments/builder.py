"""What the rule builder offers, as one JSON-able dict for the page (json_script):
each kind's menu (segments.conditions: its categories with their controls and the
condition a new one starts as, and the lists they draw from), merged, with what the
walker knows (the keys of each kind, the operators' value shapes, the limits).

static/js/builder/ draws everything from it: it declares no kind, operator or value
shape of its own, so the builder can never offer what validation refuses
(tests/segments/test_builder_catalog.py holds the two together). The labels are what
a marketer reads; the JSON keeps the contract's names.
"""

from segments import rules
from segments.conditions import Vocabulary, registry
from segments.conditions.values import SHAPES
from segments.models import Segment
from workspaces.models import Workspace


def catalog(
    workspace: Workspace, *, segment: Segment | None = None, vocabulary: Vocabulary | None = None
) -> dict:
    """Everything the builder's menus offer in `workspace`; `segment` (the one being
    edited) is left out of the segment picker: a rule cannot name its own segment."""
    vocabulary = vocabulary or Vocabulary(workspace.pk)
    result = {
        "categories": [],
        "kinds": {kind.name: kind.spec() for kind in registry},
        "shapes": SHAPES,
        "limits": {"depth": rules.MAX_DEPTH, "conditions": rules.MAX_CONDITIONS},
    }
    for kind in registry:
        menu = kind.menu(workspace, vocabulary, segment=segment)
        result["categories"] += menu.pop("categories", [])
        result.update(menu)
    return result


def value_shape(op: str) -> str:
    """What the value of `op` looks like: none, list, range, days or single."""
    return SHAPES.get(op, "single")
