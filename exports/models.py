"""A large export, written to a file by a Celery task and offered to its owner until it
expires (exports.services)."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ExportState(models.TextChoices):
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("Being written")
    DONE = "done", _("Ready")
    FAILED = "failed", _("Failed")


class ExportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "Excel (XLSX)"


class ExportJob(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.CASCADE,
        related_name="export_jobs",
    )
    # A list (exports.sources.SOURCES) or "type:<record type>" for a whole type.
    source = models.CharField(_("what"), max_length=40)
    format = models.CharField(_("format"), max_length=4, choices=ExportFormat.choices)
    # The list's query string when the export was asked for (filters and sort).
    query = models.CharField(_("filters"), max_length=2000, blank=True)
    state = models.CharField(
        _("state"), max_length=8, choices=ExportState.choices, default=ExportState.PENDING
    )
    row_count = models.PositiveIntegerField(_("rows"), default=0)
    # Relative to the exports directory (exports.services.export_dir); empty until written.
    file_name = models.CharField(_("file"), max_length=200, blank=True)
    download_name = models.CharField(_("download name"), max_length=200, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("asked"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "created_at"])]

    def __str__(self):
        return f"{self.source}.{self.format} ({self.get_state_display()})"

    @property
    def is_working(self) -> bool:
        return self.state in (ExportState.PENDING, ExportState.RUNNING)
