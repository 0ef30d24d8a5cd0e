"""The five segments every new workspace starts with (conditions.md)."""

DEFAULT_SEGMENTS = [
    (
        "Contacts created <7 days ago",
        {"all": [{"field": "created_at", "op": "within_last_days", "value": 7}]},
    ),
    (
        "Contacts inactive >30 days",
        {"all": [{"field": "last_activity_at", "op": "more_than_days_ago", "value": 30}]},
    ),
    ("Contacts with tags", {"all": [{"tag": "*", "op": "has"}]}),
    ("Country known", {"all": [{"field": "country", "op": "exists"}]}),
    ("Language known", {"all": [{"field": "language", "op": "exists"}]}),
]


def create_default_segments(workspace) -> None:
    from segments.models import Segment
    from segments.services import segment_create

    for name, conditions in DEFAULT_SEGMENTS:
        segment_create(
            workspace=workspace,
            name=name,
            kind=Segment.Kind.FILTER,
            conditions=conditions,
            origin=Segment.Origin.DEFAULT,
        )
