"""An import: the uploaded file, how its columns map to fields, its progress and its report.

The job's state lives here, not in Celery, so the progress page survives a reload and a
worker restart (the run resumes after the last committed batch). One ImportRow per data row
that did something or failed: what undo removes or reverts, and the failed-rows CSV.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ImportType(models.TextChoices):
    COMPANY = "company", _("Companies")
    CONTACT = "contact", _("Contacts")
    LEAD = "lead", _("Leads")
    DEAL = "deal", _("Deals")
    TASK = "task", _("Tasks")
    TICKET = "ticket", _("Tickets")
    SUBSCRIPTION = "subscription", _("Subscriptions")
    EXPENSE = "expense", _("Expenses")


class JobState(models.TextChoices):
    MAPPING = "mapping", _("Waiting for its mapping")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    UNDOING = "undoing", _("Being undone")
    UNDONE = "undone", _("Undone")


class DuplicatePolicy(models.TextChoices):
    SKIP = "skip", _("Skip the row")
    UPDATE = "update", _("Update the existing record")
    CREATE = "create", _("Create a new record anyway")


class MatchKey(models.TextChoices):
    EMAIL = "email", _("Email")
    DOMAIN = "domain", _("Web domain")
    PHONE = "phone", _("Phone digits")
    NAME = "name", _("Name")
    EXTERNAL_ID = "external_id", _("External id column")


class RowAction(models.TextChoices):
    CREATED = "created", _("Created")
    UPDATED = "updated", _("Updated")
    SKIPPED = "skipped", _("Skipped")
    FAILED = "failed", _("Failed")


class ImportJob(models.Model):
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.CASCADE,
        related_name="import_jobs",
    )
    record_type = models.CharField(_("record type"), max_length=12, choices=ImportType)
    state = models.CharField(
        _("state"), max_length=8, choices=JobState, default=JobState.MAPPING, db_index=True
    )
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/")
    file_name = models.CharField(_("file name"), max_length=255)
    file_format = models.CharField(_("format"), max_length=4)  # "csv" or "xlsx"
    encoding = models.CharField(_("encoding"), max_length=20, blank=True)
    delimiter = models.CharField(_("delimiter"), max_length=1, blank=True)
    # The language of whoever uploaded: its date format reads the file's dates.
    language = models.CharField(_("language"), max_length=10, blank=True)
    headers = models.JSONField(_("headers"), default=list)
    # Column index (as text) → target key ("email", "custom:vip", "external_id").
    mapping = models.JSONField(_("mapping"), default=dict, blank=True)
    duplicate_policy = models.CharField(
        _("duplicates"), max_length=6, choices=DuplicatePolicy, default=DuplicatePolicy.SKIP
    )
    match_key = models.CharField(_("match on"), max_length=11, choices=MatchKey, blank=True)
    all_or_nothing = models.BooleanField(_("all or nothing"), default=False)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    processed_rows = models.PositiveIntegerField(_("rows processed"), default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    skipped_count = models.PositiveIntegerField(_("skipped"), default=0)
    failed_count = models.PositiveIntegerField(_("failed"), default=0)
    # Why the whole job stopped (a rolled-back all-or-nothing run, a file that broke midway).
    error = models.TextField(_("error"), blank=True)
    undo_error = models.TextField(_("undo refused because"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    undone_at = models.DateTimeField(_("undone"), null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.get_record_type_display()}: {self.file_name}"

    @property
    def is_finished(self) -> bool:
        return self.state in (JobState.DONE, JobState.FAILED, JobState.UNDONE)

    @property
    def is_working(self) -> bool:
        return self.state in (JobState.QUEUED, JobState.RUNNING, JobState.UNDOING)

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 100 if self.is_finished else 0
        return min(100, round(100 * self.processed_rows / self.total_rows))


class ImportRow(models.Model):
    """One data row's outcome. `before` holds the values an update replaced (undo puts them
    back); `external_id` is the file's own id for the record, matched by later imports."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="rows")
    line = models.PositiveIntegerField(_("line"))
    action = models.CharField(_("action"), max_length=7, choices=RowAction)
    record_id = models.BigIntegerField(_("record"), null=True, blank=True)
    external_id = models.CharField(_("external id"), max_length=255, blank=True)
    before = models.JSONField(_("values before"), null=True, blank=True)
    cells = models.JSONField(_("cells"), null=True, blank=True)  # a failed row, as read
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("import row")
        verbose_name_plural = _("import rows")
        ordering = ["job", "line"]
        indexes = [
            models.Index(fields=["job", "action"], name="import_row_job_action"),
            models.Index(fields=["external_id"], name="import_row_external_id"),
        ]

    def __str__(self):
        return f"{self.job_id}:{self.line} {self.action}"


class ImportMapping(models.Model):
    """The columns a user mapped last time for a record type, by normalised header."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="import_mappings"
    )
    record_type = models.CharField(_("record type"), max_length=12, choices=ImportType)
    columns = models.JSONField(_("columns"), default=dict)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("remembered import mapping")
        verbose_name_plural = _("remembered import mappings")
        constraints = [
            models.UniqueConstraint(fields=["user", "record_type"], name="import_mapping_once"),
        ]

    def __str__(self):
        return f"{self.user_id}:{self.record_type}"
