"""An import: a file of contacts on its way in, through the wizard's steps.

The row holds what the wizard asked (mode, segment, how to read the file, which
column goes where) and what the jobs found: the dry run's outcome in `review`, the
real run's in `counts`. The jobs themselves (progress, checkpoint, error file) are
jobs.Job rows; `status` and `step` are read from them, never stored twice."""

from django.conf import settings
from django.db import models
from django.urls import reverse

from jobs.models import Job
from segments.models import Segment
from workspaces.models import Workspace

# Job statuses as an import says them.
_RUN_STATUS = {
    Job.Status.QUEUED: "running",
    Job.Status.RUNNING: "running",
    Job.Status.DONE: "done",
    Job.Status.FAILED: "failed",
    Job.Status.CANCELLED: "cancelled",
}
STEPS = {
    "draft": "map",
    "mapped": "review",
    "reviewing": "review",
    "reviewed": "run",
    "running": "result",
    "done": "result",
    "failed": "result",
    "cancelled": "result",
}
STEP_URLS = {"map": "imports:map", "review": "imports:review", "run": "imports:run"}


class Import(models.Model):
    class Mode(models.TextChoices):
        UPSERT = "upsert", "Import contacts"
        ADD_TO_SEGMENT = "add_to_segment", "Add existing people to a manual segment"

    class Lookup(models.TextChoices):
        EMAIL = "email", "Email"
        EXTERNAL_ID = "external_id", "External ID"

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "Excel (XLSX)"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="imports")
    name = models.CharField(max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    mode = models.CharField(max_length=20, choices=Mode.choices, default=Mode.UPSERT)
    lookup = models.CharField(max_length=20, choices=Lookup.choices, default=Lookup.EMAIL)
    segment = models.ForeignKey(
        Segment, null=True, blank=True, on_delete=models.SET_NULL, related_name="imports"
    )
    file = models.FileField(upload_to="imports/%Y/%m/", max_length=500)
    original_name = models.CharField(max_length=255)
    size = models.BigIntegerField(default=0)
    format = models.CharField(max_length=10, choices=Format.choices, default=Format.CSV)
    encoding = models.CharField(max_length=20, blank=True)  # "" = detected
    delimiter = models.CharField(max_length=2, blank=True)  # "" = detected
    sheet = models.CharField(max_length=100, blank=True)  # "" = the first
    has_header = models.BooleanField(default=True)
    detected = models.JSONField(default=dict, blank=True)
    columns = models.JSONField(default=list, blank=True)
    mapping = models.JSONField(default=list, blank=True)
    mapped_at = models.DateTimeField(null=True, blank=True)
    review_job = models.ForeignKey(
        Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    run_job = models.ForeignKey(
        Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    review = models.JSONField(null=True, blank=True)
    counts = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "-created_at", "-id"], name="import_ws_new")]

    def __str__(self):
        return self.name or self.original_name

    def get_absolute_url(self) -> str:
        name = STEP_URLS.get(self.step, "imports:detail")
        return reverse(name, args=[self.pk])

    @property
    def status(self) -> str:
        if self.run_job_id:
            return _RUN_STATUS[self.run_job.status]
        if self.review_job_id:
            job = self.review_job
            if job.is_open:
                return "reviewing"
            if job.status == Job.Status.DONE and self.review is not None:
                return "reviewed"
        return "mapped" if self.mapped_at else "draft"

    @property
    def step(self) -> str:
        return STEPS[self.status]

    @property
    def effective_encoding(self) -> str:
        return self.encoding or self.detected.get("encoding") or "utf-8"

    @property
    def effective_delimiter(self) -> str:
        return self.delimiter or self.detected.get("delimiter") or ","

    @property
    def effective_sheet(self) -> str:
        sheets = self.detected.get("sheets") or [""]
        return self.sheet or sheets[0]
