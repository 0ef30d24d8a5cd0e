"""Every write of the imports app: the wizard's pages and `import_contacts` call these.

An import is made from an upload (checked against IMPORT_MAX_BYTES before it is
saved, sniffed for its format, encoding, delimiter and sheets, its header read and a
mapping suggested), mapped (the mapping checked; attributes to create are created
when the run starts, not before, so going back to the map step leaves nothing
behind), reviewed by a dry-run job and run by the real one (imports.engine). Each
step checks that the import is at a step where it may happen."""

from pathlib import PurePath

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from contacts.services import attribute_define, attribute_definitions
from imports import mapping as mappings
from imports import reading
from imports.models import Import
from jobs.models import Job
from jobs.services import job_cancel, job_start
from segments import services as segment_services
from segments.models import Segment
from workspaces import audit
from workspaces.errors import KithError
from workspaces.models import Workspace

REVIEW, RUN = "import_review", "import_run"  # the job kinds (imports.engine runs them)
MAPPABLE = ("draft", "mapped", "reviewed")


def table_of(imp: Import) -> reading.Table:
    return reading.Table(
        format=imp.format,
        encoding=imp.effective_encoding if imp.format == "csv" else "",
        delimiter=imp.effective_delimiter if imp.format == "csv" else "",
        sheet=imp.effective_sheet if imp.format == "xlsx" else "",
        has_header=imp.has_header,
    )


def allowed_targets(imp: Import) -> set[str] | None:
    """add_to_segment reads the column that names the contact, nothing else."""
    return {imp.lookup} if imp.mode == Import.Mode.ADD_TO_SEGMENT else None


def _choose_segment(workspace, mode, segment, new_segment_name, user) -> Segment | None:
    if segment is not None and new_segment_name:
        raise KithError("Choose a segment or name a new one, not both.", field="segment")
    if new_segment_name:
        return segment_services.segment_create(
            workspace=workspace, name=new_segment_name, kind="manual", created_by=user
        )
    if segment is None:
        if mode == Import.Mode.ADD_TO_SEGMENT:
            raise KithError("Choose the manual segment to add people to.", field="segment")
        return None
    if segment.workspace_id != workspace.pk:
        raise KithError("Choose a segment of this workspace.", field="segment")
    if segment.kind != Segment.Kind.MANUAL:
        raise KithError(
            f"“{segment.name}” is a filter segment: people cannot be added to it by hand.",
            field="segment",
        )
    return segment


@transaction.atomic
def import_create(
    *,
    workspace: Workspace,
    user,
    upload,
    name: str = "",
    mode: str = Import.Mode.UPSERT,
    segment: Segment | None = None,
    new_segment_name: str = "",
    lookup: str = Import.Lookup.EMAIL,
) -> Import:
    if upload is None:
        raise KithError("Choose a file to upload.", field="upload")
    limit = settings.IMPORT_MAX_BYTES
    if upload.size > limit:
        raise KithError(
            f"This file is {upload.size / 1e6:,.1f} MB; an import takes at most "
            f"{limit / 1e6:,.0f} MB. Split it into smaller files.",
            field="upload",
        )
    if upload.size == 0:
        raise KithError("This file is empty.", field="upload")
    if mode not in Import.Mode.values:
        raise KithError("Choose what the import does.", field="mode")
    if lookup not in Import.Lookup.values:
        raise KithError("People are found by email or by external ID.", field="lookup")
    original = PurePath(str(upload.name or "upload")).name[:255]
    name = " ".join(str(name or "").split())[:200] or PurePath(original).stem[:200] or "Import"
    file = upload.file if hasattr(upload, "file") else upload
    detected = reading.detect(file, original)
    imp = Import(
        workspace=workspace,
        created_by=user if user is not None and user.is_authenticated else None,
        name=name,
        mode=mode,
        lookup=lookup,
        original_name=original,
        size=upload.size,
        format=detected.format,
        detected=detected.as_json(),
    )
    file.seek(0)
    imp.columns = table_of(imp).columns(file)
    if not imp.columns:
        raise KithError("This file has no rows.", field="upload")
    imp.segment = _choose_segment(workspace, mode, segment, new_segment_name, user)
    definitions = attribute_definitions(workspace)
    imp.mapping = mappings.suggest(imp.columns, definitions, only=allowed_targets(imp))
    file.seek(0)
    imp.file.save(original, upload, save=False)
    imp.save()
    return imp


def _check_step(imp: Import, allowed: tuple[str, ...], doing: str) -> None:
    status = imp.status
    if status not in allowed:
        raise KithError(f"This import is {status}: it cannot be {doing} now.")


def _lock(imp: Import) -> Import:
    return (
        Import.objects.select_for_update(of=("self",))
        .select_related("review_job", "run_job", "workspace")
        .get(pk=imp.pk)
    )


def import_map(
    *, imp: Import, has_header: bool, encoding: str, delimiter: str, sheet: str, mapping, user
) -> Import:
    """Save how the file is read and where each column goes. When the reading
    options change the columns, they are saved with a suggested mapping and the given
    mapping is refused (KithError on "mapping"): the page shows the new columns."""
    with transaction.atomic():
        imp = _lock(imp)
        _check_step(imp, MAPPABLE, "mapped")
        encoding, delimiter, sheet = encoding or "", delimiter or "", sheet or ""
        if encoding not in ("", *reading.ENCODINGS):
            raise KithError("Choose an encoding from the list.", field="encoding")
        if delimiter not in ("", *reading.DELIMITERS):
            raise KithError("Choose a delimiter from the list.", field="delimiter")
        if sheet and sheet not in (imp.detected.get("sheets") or []):
            raise KithError("Choose a sheet of this workbook.", field="sheet")
        options = (bool(has_header), encoding, delimiter, sheet)
        columns_changed = False
        if options != (imp.has_header, imp.encoding, imp.delimiter, imp.sheet):
            imp.has_header, imp.encoding, imp.delimiter, imp.sheet = options
            with imp.file.open("rb") as file:
                columns = table_of(imp).columns(file.file)
            if columns != imp.columns:
                columns_changed = True
                imp.columns = columns
                definitions = attribute_definitions(imp.workspace)
                imp.mapping = mappings.suggest(columns, definitions, only=allowed_targets(imp))
            imp.mapped_at, imp.review, imp.review_job = None, None, None
            imp.save()
    # Columns at the same places keep the mapping given for them.
    if columns_changed and (not isinstance(mapping, list) or len(mapping) != len(imp.columns)):
        raise KithError(
            "The columns changed with these settings: check where each one goes.",
            field="mapping",
        )
    with transaction.atomic():
        imp = _lock(imp)
        definitions = attribute_definitions(imp.workspace)
        cleaned = mappings.clean_mapping(
            mapping, imp.columns, definitions, allowed=allowed_targets(imp)
        )
        _check_match(imp, cleaned)
        imp.mapping = cleaned
        imp.mapped_at = timezone.now()
        imp.review, imp.review_job = None, None
        imp.save()
    return imp


def _check_match(imp: Import, mapping: list[dict]) -> None:
    if imp.mode == Import.Mode.ADD_TO_SEGMENT:
        if not any(entry["target"] == imp.lookup for entry in mapping):
            label = "email" if imp.lookup == "email" else "external ID"
            raise KithError(f"Choose the column that holds each person's {label}.", field="mapping")
    elif mappings.match_field(mapping) is None:
        raise KithError(
            "Choose the column that holds the email (or the external ID): contacts are "
            "created or updated by it.",
            field="mapping",
        )


def _title(imp: Import, what: str = "Import") -> str:
    return f"{what} '{imp.name}' ({imp.original_name})"


@transaction.atomic
def import_review_start(*, imp: Import, user) -> Job:
    imp = _lock(imp)
    _check_step(imp, ("mapped", "reviewed"), "reviewed")
    job = job_start(
        workspace=imp.workspace,
        kind=REVIEW,
        title=_title(imp, "Review of import"),
        params={"import_id": imp.pk},
        user=user,
    )
    imp.review_job, imp.review = job, None
    imp.save(update_fields=["review_job", "review", "updated_at"])
    return job


def _define_new_attributes(imp: Import) -> None:
    definitions = attribute_definitions(imp.workspace)
    for entry in imp.mapping:
        if not entry.get("new_type"):
            continue
        key = entry["target"].removeprefix(mappings.ATTRIBUTE_PREFIX)
        existing = definitions.get(key.lower())
        if existing is None:
            attribute_define(workspace=imp.workspace, key=key, type=entry["new_type"])
        elif existing.type != entry["new_type"]:
            raise KithError(
                f"The attribute “{existing.key}” was created meanwhile as "
                f"{existing.get_type_display().lower()}: map the column again.",
                field="mapping",
            )


@transaction.atomic
def import_run_start(*, imp: Import, user) -> Job:
    imp = _lock(imp)
    _check_step(imp, ("mapped", "reviewed"), "run")
    if imp.segment_id is None and imp.mode == Import.Mode.ADD_TO_SEGMENT:
        raise KithError("The segment of this import was deleted: start a new import.")
    _define_new_attributes(imp)
    job = job_start(
        workspace=imp.workspace,
        kind=RUN,
        title=_title(imp),
        params={"import_id": imp.pk},
        user=user,
    )
    imp.run_job = job
    imp.save(update_fields=["run_job", "updated_at"])
    return job


def job_subject(job: Job):
    """The import a run acts on, for the audit trail (workspaces.audit)."""
    if job.kind != RUN:
        return None
    imp = Import.objects.filter(pk=job.params.get("import_id"), workspace_id=job.workspace_id)
    imp = imp.only("name", "original_name").first()
    if imp is None:
        return None
    details = {"label": "Import", "on_members": False, "what": imp.original_name}
    return audit.Subject.IMPORT, imp.pk, imp.name, details


def import_cancel(*, imp: Import, user) -> Job:
    imp = Import.objects.select_related("review_job", "run_job").get(pk=imp.pk)
    for job in (imp.run_job, imp.review_job):
        if job is not None and job.is_open:
            return job_cancel(job=job)
    raise KithError("Nothing of this import is running.")
