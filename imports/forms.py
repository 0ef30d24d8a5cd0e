"""Forms of the import wizard. They check the shape of the input; the services
(imports.services) decide what is allowed (the file's size and format, the segment,
the mapping) and their errors are put back beside the field they name
(workspaces.forms.add_service_error).

- SetupForm: the file, the mode, a name, the manual segment (an existing one, a new
  one made here, or none) and, to add existing people, how rows name them.
- MapForm: how to read the file (header row, encoding, delimiter, sheet) and, for
  each column, a select of the targets imports.selectors.mapping_choices offers plus
  "New custom attribute", whose key and type are asked beside it. mapping() turns
  the answers into the list imports.services.import_map takes."""

import re

from django import forms

from imports import reading
from imports.models import Import
from workspaces.forms import ServiceErrorsMixin, add_service_error
from workspaces.params import parse_id

NEW_SEGMENT = "new"
NEW_ATTRIBUTE = "new"
IGNORE = "ignore"
KEY_MAX = 50  # contacts.CustomAttribute.key's length
_NOT_KEY = re.compile(r"[^a-z0-9]+")


class SetupForm(ServiceErrorsMixin, forms.Form):
    service_fields = {"upload": "file"}

    file = forms.FileField(
        label="File",
        help_text="A CSV file (comma, semicolon, tab or pipe separated) or an Excel "
        "workbook (.xlsx).",
        error_messages={
            "required": "Choose a file to import.",
            "empty": "The file is empty.",
            "invalid": "Choose a file to import.",
        },
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv,.xlsx"}),
    )
    mode = forms.ChoiceField(
        label="What to do",
        choices=Import.Mode.choices,
        initial=Import.Mode.UPSERT,
        widget=forms.RadioSelect,
    )
    lookup = forms.ChoiceField(
        label="Find people by",
        choices=Import.Lookup.choices,
        initial=Import.Lookup.EMAIL,
        required=False,
        widget=forms.RadioSelect,
        help_text="Adding existing people: the file needs a column of emails or of "
        "external ids. A row naming nobody is rejected; no contact is created.",
    )
    name = forms.CharField(
        label="Name of the import",
        required=False,
        max_length=200,
        help_text="To find it later on the Imports page; the file's name when left empty.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    segment = forms.ChoiceField(
        label="Add everyone imported to a manual segment",
        required=False,
        help_text="Optional when importing contacts; needed to add existing people.",
    )
    new_segment_name = forms.CharField(
        label="Name of the new segment",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args, segments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.segments = {str(s.pk): s for s in segments}
        self.fields["segment"].choices = [
            ("", "No segment"),
            (NEW_SEGMENT, "A new manual segment…"),
            ("Your manual segments", [(pk, s.name) for pk, s in self.segments.items()]),
        ]

    def clean_segment(self):
        value = self.cleaned_data.get("segment") or ""
        if value in ("", NEW_SEGMENT):
            return value
        return self.segments[value]  # the choice was checked against these

    def clean(self):
        data = super().clean()
        if data.get("segment") == NEW_SEGMENT and not data.get("new_segment_name", "").strip():
            self.add_error("new_segment_name", "Give the new segment a name.")
        if data.get("mode") == Import.Mode.ADD_TO_SEGMENT and data.get("segment") == "":
            self.add_error("segment", "Choose the segment to add people to, or make a new one.")
        return data

    def service_arguments(self) -> dict:
        """What imports.services.import_create takes from this form."""
        data = self.cleaned_data
        segment = data["segment"]
        return {
            "upload": data["file"],
            "name": data["name"].strip(),
            "mode": data["mode"],
            "lookup": data["lookup"] or Import.Lookup.EMAIL,
            "segment": segment if segment not in ("", NEW_SEGMENT) else None,
            "new_segment_name": data["new_segment_name"].strip() if segment == NEW_SEGMENT else "",
        }


def setup_initial(query, segments) -> dict:
    """The setup form's preselection from the query string of an entry point:
    ?segment=<id>&mode=add_to_segment (a manual segment's "Add people from a file")."""
    initial = {}
    segment = parse_id(query.get("segment"))
    if segment is not None and any(s.pk == segment for s in segments):
        initial["segment"] = str(segment)
    if query.get("mode") in Import.Mode.values:
        initial["mode"] = query["mode"]
    if query.get("lookup") in Import.Lookup.values:
        initial["lookup"] = query["lookup"]
    return initial


def suggested_key(title: str) -> str:
    """A custom attribute key from a column title: "Plan Tier" -> "plan_tier"."""
    return _NOT_KEY.sub("_", (title or "").lower()).strip("_")[:KEY_MAX]


class MapForm(ServiceErrorsMixin, forms.Form):
    """How to read the file, and a target for each column: `map_<i>`, and for a new
    custom attribute `key_<i>` and `type_<i>`."""

    has_header = forms.BooleanField(
        label="The first row holds the column names",
        required=False,
        help_text="Untick when the first row is already a contact.",
    )
    encoding = forms.ChoiceField(label="Encoding", required=False)
    delimiter = forms.ChoiceField(label="Delimiter", required=False)
    sheet = forms.ChoiceField(label="Sheet", required=False)

    def __init__(self, *args, imp, columns, choices, types, **kwargs):
        initial = {
            "has_header": imp.has_header,
            "encoding": imp.encoding,
            "delimiter": imp.delimiter,
            "sheet": imp.sheet,
            **_mapping_initial(imp.mapping or [], columns, choices),
        }
        super().__init__(*args, initial={**initial, **kwargs.pop("initial", {})}, **kwargs)
        self.imp, self.columns = imp, list(columns)
        self.fields["encoding"].choices = reading.ENCODING_CHOICES
        self.fields["delimiter"].choices = reading.DELIMITER_CHOICES
        sheets = (imp.detected or {}).get("sheets") or []
        self.fields["sheet"].choices = [("", "The first sheet")] + [(s, s) for s in sheets]
        if imp.format != "xlsx":
            del self.fields["sheet"]
        else:
            del self.fields["encoding"], self.fields["delimiter"]
        targets = [*choices, ("", [(NEW_ATTRIBUTE, "New custom attribute…")])]
        for index, title in enumerate(self.columns):
            self.fields[f"map_{index}"] = forms.ChoiceField(
                label=title or f"Column {index + 1}", choices=targets, initial=IGNORE
            )
            self.fields[f"key_{index}"] = forms.CharField(
                label="Key of the new attribute",
                required=False,
                max_length=KEY_MAX,
                widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
            )
            self.fields[f"type_{index}"] = forms.ChoiceField(
                label="Its type", choices=types, required=False
            )

    def rows(self):
        """(index, title, select, key, type) of each column, for the template."""
        for index, title in enumerate(self.columns):
            yield (
                index,
                title,
                self[f"map_{index}"],
                self[f"key_{index}"],
                self[f"type_{index}"],
            )

    def reading_fields(self):
        return [self[name] for name in ("encoding", "delimiter", "sheet") if name in self.fields]

    def clean(self):
        data = super().clean()
        for index in range(len(self.columns)):
            if data.get(f"map_{index}") == NEW_ATTRIBUTE:
                if not (data.get(f"key_{index}") or "").strip():
                    self.add_error(f"key_{index}", "Give the attribute a key.")
                if not data.get(f"type_{index}"):
                    self.add_error(f"type_{index}", "Choose the attribute's type.")
        return data

    def answers(self) -> dict:
        """The answers: the cleaned ones of a bound form, else the initial ones (what
        the page shows first: the stored or suggested mapping)."""
        if self.is_bound:
            return self.cleaned_data
        return {name: self.get_initial_for_field(f, name) for name, f in self.fields.items()}

    def mapping(self) -> list[dict]:
        """One {"target", "new_type"} per column, as imports.services.import_map takes."""
        data, mapping = self.answers(), []
        for index in range(len(self.columns)):
            target = data.get(f"map_{index}") or IGNORE
            if target == NEW_ATTRIBUTE:
                key = (data.get(f"key_{index}") or "").strip()
                new_type = data.get(f"type_{index}") or None
                mapping.append({"target": f"attributes.{key}", "new_type": new_type})
            else:
                mapping.append({"target": target, "new_type": None})
        return mapping

    def reading(self) -> dict:
        """How to read the file, as imports.services.import_map takes it."""
        data = self.answers()
        return {
            "has_header": bool(data.get("has_header")),
            "encoding": data.get("encoding") or "",
            "delimiter": data.get("delimiter") or "",
            "sheet": data.get("sheet") or "",
        }

    def add_service_errors(self, exc) -> None:
        """A mapping error naming a column ("mapping.2", "mapping[2]") goes beside that
        column's select."""
        aliases = {f"mapping.{i}": f"map_{i}" for i in range(len(self.columns))}
        aliases |= {f"mapping[{i}]": f"map_{i}" for i in range(len(self.columns))}
        aliases |= {f"columns.{i}": f"map_{i}" for i in range(len(self.columns))}
        add_service_error(self, exc, aliases=aliases)


def _values(choices) -> set[str]:
    found = set()
    for value, label in choices:
        if isinstance(label, list | tuple):
            found |= {str(v) for v, _ in label}
        else:
            found.add(str(value))
    return found


def _mapping_initial(mapping: list, columns, choices) -> dict:
    """The stored (or suggested) mapping as the selects' initial values: a target the
    selects do not offer as such is a new custom attribute (made by the run)."""
    offered, initial = _values(choices), {}
    for index, title in enumerate(columns):
        entry = mapping[index] if index < len(mapping) and isinstance(mapping[index], dict) else {}
        target = str(entry.get("target") or IGNORE)
        if entry.get("new_type") or (target.startswith("attributes.") and target not in offered):
            initial[f"map_{index}"] = NEW_ATTRIBUTE
            initial[f"key_{index}"] = target.removeprefix("attributes.")
            initial[f"type_{index}"] = entry.get("new_type") or "text"
        else:
            initial[f"map_{index}"] = target if target in offered else IGNORE
            initial[f"key_{index}"] = suggested_key(title)
    return initial
