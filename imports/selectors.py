"""Reads of the imports app: the list, one import, the map step's preview and the
choices of each column's select."""

from dataclasses import dataclass, field

from django.db.models import QuerySet

from contacts.models import field_label
from contacts.services import EDITABLE_FIELDS, attribute_definitions
from imports import mapping as mappings
from imports.models import Import
from imports.reading import FileRefused
from imports.services import allowed_targets, table_of
from workspaces.models import Workspace
from workspaces.scoping import get_scoped_or_404, scoped

PreviewCell = mappings.Cell


@dataclass
class Preview:
    columns: list[str]
    rows: list[list[PreviewCell]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # each row's line in the file
    error: str = ""  # the file cannot be read with these settings


def import_list(*, workspace: Workspace) -> QuerySet:
    return (
        scoped(Import, workspace)
        .select_related("created_by", "run_job", "review_job", "segment")
        .order_by("-created_at", "-id")
    )


def import_get(*, workspace: Workspace, pk) -> Import:
    return get_scoped_or_404(
        Import.objects.select_related(
            "created_by", "run_job", "review_job", "segment", "workspace"
        ),
        workspace,
        pk=pk,
    )


def import_preview(*, imp: Import, limit: int = 5) -> Preview:
    """The first rows as they will be stored, cell by cell, with the current mapping."""
    preview = Preview(columns=list(imp.columns))
    definitions = attribute_definitions(imp.workspace)
    reader = mappings.RowReader(imp.columns, _preview_mapping(imp, definitions), definitions)
    try:
        with imp.file.open("rb") as file:
            for number, row in enumerate(table_of(imp).rows(file.file)):
                if number >= limit:
                    break
                preview.rows.append(reader.cells(row.cells))
                preview.lines.append(row.line)
    except FileRefused as exc:
        preview.error = exc.message
    except OSError:
        preview.error = "The uploaded file is no longer there: start a new import."
    return preview


def _preview_mapping(imp: Import, definitions: dict) -> list[dict]:
    """The saved mapping, with entries the workspace no longer allows read as ignored."""
    result = []
    for index in range(len(imp.columns)):
        entry = imp.mapping[index] if index < len(imp.mapping) else {}
        target = entry.get("target") or mappings.IGNORE
        if target.startswith(mappings.ATTRIBUTE_PREFIX):
            key = target.removeprefix(mappings.ATTRIBUTE_PREFIX)
            if key.lower() not in definitions and not entry.get("new_type"):
                target = mappings.IGNORE
        elif target not in (mappings.IGNORE, mappings.TAGS, *EDITABLE_FIELDS):
            target = mappings.IGNORE
        result.append({"target": target, "new_type": entry.get("new_type")})
    return result


def mapping_choices(*, imp: Import) -> list[tuple[str, list[tuple[str, str]]]]:
    """Each column's select: (group label, [(value, label)...])."""
    allowed = allowed_targets(imp)
    fields = [(name, field_label(name)) for name in EDITABLE_FIELDS]
    if allowed is not None:
        fields = [(name, label) for name, label in fields if name in allowed]
        return [("Contact", fields), ("Other", [(mappings.IGNORE, "Ignore")])]
    definitions = attribute_definitions(imp.workspace)
    attributes = [
        (mappings.ATTRIBUTE_PREFIX + a.key, a.label or a.key)
        for a in sorted(definitions.values(), key=lambda a: a.key.lower())
    ]
    groups = [("Contact fields", fields)]
    if attributes:
        groups.append(("Custom attributes", attributes))
    groups.append(("Other", [(mappings.TAGS, "Tags"), (mappings.IGNORE, "Ignore")]))
    return groups


def new_attribute_types() -> list[tuple[str, str]]:
    return list(mappings.NEW_TYPES)
