"""Large exports: started by their owner, written by a Celery task, downloaded until they
expire, then deleted by the periodic cleanup. Small exports never come here: the views stream
them (exports.views)."""

import logging
import uuid
from datetime import timedelta
from pathlib import Path
from typing import IO

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm import access
from crm.money import format_number
from crm.services.notifications import notify

from .models import ExportFormat, ExportJob, ExportState
from .sources import SOURCES, WHOLE_TYPES, BadQuery, whole_type_table
from .tables import ExportColumn, Table
from .writers import write_csv, write_xlsx

logger = logging.getLogger(__name__)

# Lists longer than this are written by a Celery task instead of streamed in the request.
STREAM_LIMIT = 20_000
# How long a written export can be downloaded.
KEEP_FOR = timedelta(days=3)
# Exports one user may have waiting or running at once.
MAX_WORKING = 3
TYPE_PREFIX = "type:"


def export_dir() -> Path:
    """Where export files are written (CRM_EXPORT_DIR: MEDIA_ROOT/exports unless set)."""
    return Path(settings.CRM_EXPORT_DIR)


def build_table(*, user, source: str, query: str | QueryDict) -> Table:
    """The table an export of `source` holds for `user`. Raises LookupError for an unknown
    source, PermissionDenied, or BadQuery for a query string the list cannot read."""
    params = query if isinstance(query, QueryDict) else QueryDict(query)
    params = params.copy()
    for ignored in ("format", "page"):
        params.pop(ignored, None)
    if source.startswith(TYPE_PREFIX):
        record_type = source.removeprefix(TYPE_PREFIX)
        if record_type not in WHOLE_TYPES:
            raise LookupError(source)
        if not access.may_export_all(user):
            raise PermissionDenied
        return whole_type_table(record_type, user)
    if source.startswith(KPI_PREFIX):
        return _kpi_drilldown_table(user, source.removeprefix(KPI_PREFIX), params)
    if source not in SOURCES:
        raise LookupError(source)
    return SOURCES[source].build(user, params)


# A KPI's drill-down (metrics.views.drilldown_table), exported in the background when large.
KPI_PREFIX = "kpi:"


def _kpi_drilldown_table(user, key: str, params: QueryDict) -> Table:
    from django.http import Http404

    from metrics.views import drilldown_cell, drilldown_table

    try:
        records, columns, filename = drilldown_table(user, key, params)
    except Http404 as error:
        raise LookupError(key) from error
    except ValueError as error:
        raise BadQuery(str(error)) from error
    cells = [
        ExportColumn(column[0], lambda record, column=column: drilldown_cell(record, column))
        for column in columns
    ]
    return Table(records, cells, filename=filename)


def whole_type_csv(*, record_type: str, user, file: IO[str]) -> int:
    """Every `record_type` record `user` may export at once (crm.access.may_export_all), as CSV
    written to the text file `file` (open it with newline=""); returns the rows written. The
    export side of the import round trip (see exports.sources for the columns)."""
    return write_csv(build_table(user=user, source=TYPE_PREFIX + record_type, query=""), file)


def export_job_start(*, user, source: str, fmt: str, query: str) -> ExportJob:
    """Queue a large export for its owner. Checks the source and query as the task will."""
    if fmt not in ExportFormat.values:
        raise BadQuery(_("Unknown format."))
    build_table(user=user, source=source, query=query)
    working = ExportJob.objects.filter(
        owner=user, state__in=[ExportState.PENDING, ExportState.RUNNING]
    )
    if working.count() >= MAX_WORKING:
        raise BadQuery(_("Wait for your exports being written to finish first."))
    job = ExportJob.objects.create(owner=user, source=source, format=fmt, query=query)
    transaction.on_commit(lambda: _enqueue(job.pk), robust=True)
    return job


def _enqueue(job_id: int) -> None:
    from .tasks import run_export

    run_export.delay(job_id)


def export_job_run(*, job_id: int) -> bool:
    """Write one export's file (once: the job is claimed first). False if already claimed."""
    claimed = ExportJob.objects.filter(pk=job_id, state=ExportState.PENDING).update(
        state=ExportState.RUNNING
    )
    if not claimed:
        return False
    job = ExportJob.objects.select_related("owner").get(pk=job_id)
    relative = f"{job.owner_id}/{uuid.uuid4().hex}.{job.format}"
    path = export_dir() / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with translation.override(job.owner.language or settings.LANGUAGE_CODE):
            table = build_table(user=job.owner, source=job.source, query=job.query)
            count = _write(table, job.format, path)
    except (BadQuery, LookupError, PermissionDenied) as error:
        path.unlink(missing_ok=True)
        _finish(job, state=ExportState.FAILED, error=str(error) or _("Not allowed."))
        return True
    except Exception:
        path.unlink(missing_ok=True)
        _finish(job, state=ExportState.FAILED, error=_("The export could not be written."))
        raise
    now = timezone.now()
    job.download_name = f"{table.filename}-{now:%Y-%m-%d}.{job.format}"
    _finish(job, state=ExportState.DONE, row_count=count, file_name=relative)
    _notify_ready(job)
    return True


def _write(table: Table, fmt: str, path: Path) -> int:
    if fmt == ExportFormat.XLSX:
        with path.open("wb") as file:
            return write_xlsx(table, file)
    with path.open("w", encoding="utf-8", newline="") as file:
        return write_csv(table, file)


def _finish(job: ExportJob, *, state: str, **fields) -> None:
    now = timezone.now()
    job.state, job.finished_at, job.expires_at = state, now, now + KEEP_FOR
    for name, value in fields.items():
        setattr(job, name, value)
    job.save()


def _notify_ready(job: ExportJob) -> None:
    owner = job.owner
    with translation.override(owner.language or settings.LANGUAGE_CODE):
        notify(
            recipients=[owner],
            title=ngettext(
                "Your export is ready: %(rows)s row",
                "Your export is ready: %(rows)s rows",
                job.row_count,
            )
            % {"rows": format_number(job.row_count)},
            url=reverse("exports"),
            kind="export",
            key=f"export-{job.pk}",
        )


def export_path(job: ExportJob) -> Path | None:
    """The job's file, if it is written, unexpired and still there."""
    if job.state != ExportState.DONE or not job.file_name:
        return None
    if job.expires_at and job.expires_at <= timezone.now():
        return None
    path = export_dir() / job.file_name
    return path if path.is_file() else None


def export_jobs_expire(*, now=None) -> int:
    """Delete expired exports, their files first; returns how many went."""
    now = now or timezone.now()
    expired = ExportJob.objects.filter(expires_at__lte=now)
    # A job whose worker died never finishes: gone after twice the keeping time.
    stale = ExportJob.objects.filter(expires_at__isnull=True, created_at__lte=now - 2 * KEEP_FOR)
    removed = 0
    for job in [*expired, *stale]:
        if job.file_name:
            (export_dir() / job.file_name).unlink(missing_ok=True)
        job.delete()
        removed += 1
    return removed
