"""Imports: upload, map, preview, run, report, undo. The only write path of the app.

A run commits its rows in batches (each batch: its records, their events, its ImportRows and
the job's counters, in one transaction), so a worker that dies loses at most one batch and the
next delivery resumes after the last one committed. "All or nothing" is one transaction,
rolled back on the first row that fails.
"""

import contextlib
import csv
import io
from collections.abc import Iterator
from datetime import timedelta
from itertools import islice

from django.core.files.base import File
from django.db import transaction
from django.db.models import Max
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm import limits
from crm.models import Event
from crm.services.events import event_context

from . import reading
from .cleaning import FORMULA_STARTS
from .kinds import kind_for, targets_for
from .mapping import guess_mapping, remember_mapping
from .models import ImportJob, ImportRow, JobState, RowAction
from .writing import Outcome, RowWriter

BATCH_SIZE = 500
PREVIEW_ROWS = 20
# A run whose worker has said nothing for this long is taken over by the next delivery.
STALE_AFTER = timedelta(minutes=10)


class ImportRefused(Exception):
    """The step cannot be taken; the message says why."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _raw(file) -> object:
    """The underlying binary stream of a Django File (reading needs seek and read1)."""
    return getattr(file, "file", file)


# --- upload -------------------------------------------------------------------------------------


def import_upload(*, user, record_type: str, uploaded) -> ImportJob:
    """Check the file through once (nothing kept but its header) and store it for the job."""
    if uploaded.size > limits.IMPORT_MAX_BYTES:
        raise reading.FileProblem(too_big_message(uploaded.size))
    stream = _raw(uploaded)
    shape = reading.inspect(stream, uploaded.name)
    stream.seek(0)
    job = ImportJob(
        created_by=user,
        record_type=record_type,
        file_name=uploaded.name[:255],
        file_format=shape.file_format,
        encoding=shape.encoding,
        delimiter=shape.delimiter,
        language=translation.get_language() or "",
        headers=shape.headers,
        total_rows=shape.total_rows,
    )
    job.mapping = guess_mapping(record_type, shape.headers, user)
    job.match_key = kind_for(record_type).match_keys[0]
    job.file.save(f"{record_type}.{shape.file_format}", File(stream), save=False)
    job.save()
    return job


def too_big_message(size: int) -> str:
    return _("The file is %(size)s MB; an import takes files of up to %(limit)s MB.") % {
        "size": f"{size / 1_000_000:,.0f}",
        "limit": f"{limits.IMPORT_MAX_BYTES // 1_000_000:,}",
    }


# --- mapping, preview and start -----------------------------------------------------------------


def import_configure(
    job: ImportJob, *, mapping: dict, duplicate_policy: str, match_key: str, all_or_nothing: bool
) -> ImportJob:
    if job.state != JobState.MAPPING:
        raise ImportRefused(_("This import has already started."))
    job.mapping = mapping
    job.duplicate_policy = duplicate_policy
    job.match_key = match_key
    job.all_or_nothing = all_or_nothing
    job.save(
        update_fields=["mapping", "duplicate_policy", "match_key", "all_or_nothing", "updated_at"]
    )
    return job


class _Rollback(Exception):
    pass


def import_preview(job: ImportJob) -> list[Outcome]:
    """The first rows as the run would save them, through the same services, rolled back:
    nothing is written (no record, no event, no task sent)."""
    outcomes: list[Outcome] = []
    with job.file.open("rb") as file:
        rows = list(islice(reading.data_rows(_raw(file), job), PREVIEW_ROWS))
        with contextlib.suppress(_Rollback), transaction.atomic():
            outcomes = RowWriter(job).write_batch(rows)
            for outcome in outcomes:
                # Read what the preview shows before the rollback takes the rows away.
                outcome.record = str(outcome.record) if outcome.record is not None else None
            raise _Rollback
    return outcomes


def import_start(job: ImportJob) -> ImportJob:
    """Queue the run; the mapping is remembered for the user's next import of this type."""
    with transaction.atomic():
        claimed = ImportJob.objects.filter(pk=job.pk, state=JobState.MAPPING).update(
            state=JobState.QUEUED, updated_at=timezone.now()
        )
        if not claimed:
            raise ImportRefused(_("This import has already started."))
        remember_mapping(job.created_by, job.record_type, job.headers, job.mapping)
        _enqueue_on_commit("run_import", job.pk)
    job.refresh_from_db()
    return job


def _enqueue_on_commit(task_name: str, job_id: int) -> None:
    """Send the task once the job's state is committed; tasks import services, so it is named
    here, not imported at the top. A broker outage leaves the job queued, not lost."""

    def send_task():
        from . import tasks

        getattr(tasks, task_name).delay(job_id)

    transaction.on_commit(send_task, robust=True)


# --- the run ------------------------------------------------------------------------------------


def import_run(job_id: int) -> ImportJob | None:
    """Run (or resume) a queued import. Safe to deliver twice: only one run claims it."""
    job = _claim(job_id)
    if job is None:
        return None
    try:
        with job.file.open("rb") as file, event_context(import_job=job.pk):
            rows = reading.data_rows(_raw(file), job)
            if job.all_or_nothing:
                _run_all_or_nothing(job, rows)
            else:
                _run_in_batches(job, rows)
    except reading.FileProblem as problem:
        _finish(job, JobState.FAILED, error=problem.message)
    except OSError:
        _finish(job, JobState.FAILED, error=_("The uploaded file is no longer there."))
    return job


def _claim(job_id: int) -> ImportJob | None:
    now = timezone.now()
    claimed = ImportJob.objects.filter(pk=job_id, state=JobState.QUEUED).update(
        state=JobState.RUNNING, started_at=now, updated_at=now
    )
    if not claimed:
        # A run whose worker died: the next delivery takes it over after a quiet while.
        claimed = ImportJob.objects.filter(
            pk=job_id, state=JobState.RUNNING, updated_at__lt=now - STALE_AFTER
        ).update(updated_at=now)
    return ImportJob.objects.select_related("created_by").get(pk=job_id) if claimed else None


def _run_in_batches(job: ImportJob, rows: Iterator) -> None:
    writer = RowWriter(job)
    rows = islice(rows, job.processed_rows, None)  # resume after the committed batches
    while batch := list(islice(rows, BATCH_SIZE)):
        with transaction.atomic():
            outcomes = writer.write_batch(batch)
            _save_outcomes(job, outcomes)
            _count(job, outcomes)
            job.save(update_fields=_COUNTERS + ["updated_at"])
    _finish(job, JobState.DONE)


class _FirstFailure(Exception):
    def __init__(self, outcome: Outcome):
        super().__init__(outcome.line)
        self.outcome = outcome


def _run_all_or_nothing(job: ImportJob, rows: Iterator) -> None:
    writer = RowWriter(job)
    try:
        with transaction.atomic():
            while batch := list(islice(rows, BATCH_SIZE)):
                outcomes = writer.write_batch(batch)
                failed = next((o for o in outcomes if o.action == RowAction.FAILED), None)
                if failed is not None:
                    raise _FirstFailure(failed)
                _save_outcomes(job, outcomes)
                _count(job, outcomes)
            job.save(update_fields=_COUNTERS + ["updated_at"])
    except _FirstFailure as failure:
        job.refresh_from_db()
        _save_outcomes(job, [failure.outcome])
        job.failed_count = 1
        _finish(
            job,
            JobState.FAILED,
            error=_("Row %(line)d failed (%(error)s): nothing was imported.")
            % {"line": failure.outcome.line, "error": error_text(job, failure.outcome.errors)},
        )
        return
    _finish(job, JobState.DONE)


_COUNTERS = ["processed_rows", "created_count", "updated_count", "skipped_count", "failed_count"]


def _count(job: ImportJob, outcomes: list[Outcome]) -> None:
    job.processed_rows += len(outcomes)
    for outcome in outcomes:
        name = f"{outcome.action}_count"
        setattr(job, name, getattr(job, name) + 1)


def _save_outcomes(job: ImportJob, outcomes: list[Outcome]) -> None:
    ImportRow.objects.bulk_create(
        [
            ImportRow(
                job=job,
                line=o.line,
                action=o.action,
                record_id=getattr(o.record, "pk", None),
                external_id=o.external_id,
                before=o.before,
                cells=o.cells if o.action == RowAction.FAILED else None,
                error=error_text(job, o.errors) if o.errors else "",
            )
            for o in outcomes
            if o.action != RowAction.SKIPPED or o.external_id
        ],
        batch_size=BATCH_SIZE,
    )


def _finish(job: ImportJob, state: str, *, error: str = "") -> None:
    job.state, job.error, job.finished_at = state, error, timezone.now()
    job.save(update_fields=[*_COUNTERS, "state", "error", "finished_at", "updated_at"])


def error_text(job: ImportJob, errors: dict) -> str:
    """“Email: Enter a valid email address. · Owner: …”, by column label."""
    labels = {target.key: str(target.label) for target in targets_for(job.record_type)}
    headers = {
        key: job.headers[int(index)]
        for index, key in job.mapping.items()
        if int(index) < len(job.headers)
    }
    parts = []
    for key, message in errors.items():
        name = headers.get(key) or labels.get(key) or key
        parts.append(f"{name}: {message}" if key else message)
    return " · ".join(parts)


# --- the failed rows, as a file to fix and import again -----------------------------------------


def failed_rows_csv(job: ImportJob) -> Iterator[str]:
    """The failed rows with their header and an `error` column, a line at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(cells) -> str:
        writer.writerow(cells)
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    width = len(job.headers)
    yield "\ufeff" + line([_safe(cell) for cell in [*job.headers, "error"]])
    failed = job.rows.filter(action=RowAction.FAILED).order_by("line")
    for row in failed.iterator(chunk_size=1000):
        cells = list(row.cells or [])[:width]
        cells += [""] * (width - len(cells))
        yield line([_safe(cell) for cell in [*cells, row.error]])


def _safe(text: str) -> str:
    """What a spreadsheet would run as a formula gets an apostrophe, as in every export; the
    import takes it off again, so the fixed file imports the values the user typed."""
    return "'" + text if text.startswith((*FORMULA_STARTS, "\0")) else text


# --- undo ---------------------------------------------------------------------------------------


def import_undo_request(job: ImportJob) -> ImportJob:
    with transaction.atomic():
        claimed = ImportJob.objects.filter(
            pk=job.pk, state__in=[JobState.DONE, JobState.FAILED]
        ).update(state=JobState.UNDOING, undo_error="", updated_at=timezone.now())
        if not claimed:
            raise ImportRefused(_("Only a finished import can be undone."))
        _enqueue_on_commit("undo_import", job.pk)
    job.refresh_from_db()
    return job


def import_undo(job_id: int) -> ImportJob | None:
    """Remove the records the import created and put back the values it replaced — unless a
    later change (anyone's, another import's) touched one: then nothing is undone and the
    report names the rows."""
    job = ImportJob.objects.select_related("created_by").filter(pk=job_id).first()
    if job is None or job.state != JobState.UNDOING:
        return None
    model = kind_for(job.record_type).model
    touched = _rows_changed_since(job, model)
    if touched:
        return _undo_refused(job, _changed_since_message(touched))
    from crm import services

    try:
        with transaction.atomic(), event_context(import_undo=job.pk):
            rows = job.rows.filter(action__in=[RowAction.CREATED, RowAction.UPDATED])
            for row in rows.order_by("-line").iterator(chunk_size=BATCH_SIZE):
                record = model._default_manager.filter(pk=row.record_id).first()
                if record is None:
                    continue
                if row.action == RowAction.CREATED:
                    services.record_delete(record, actor=job.created_by)
                else:
                    services.record_update(
                        record, actor=job.created_by, data=_values_before(record, row.before)
                    )
            job.state, job.undone_at = JobState.UNDONE, timezone.now()
            job.save(update_fields=["state", "undone_at", "updated_at"])
    except services.RecordInUse as error:
        return _undo_refused(job, " ".join(error.messages))
    return job


def _undo_refused(job: ImportJob, message: str) -> ImportJob:
    job.state = JobState.DONE if not job.error else JobState.FAILED
    job.undo_error = message
    job.save(update_fields=["state", "undo_error", "updated_at"])
    return job


def _rows_changed_since(job: ImportJob, model) -> list[int]:
    """Lines whose record's latest event is not this import's own."""
    record_type = model._meta.model_name
    touched: list[int] = []
    rows = job.rows.filter(action__in=[RowAction.CREATED, RowAction.UPDATED]).order_by("line")
    pending: list[tuple[int, int]] = []
    for line, record_id in rows.values_list("line", "record_id").iterator(chunk_size=BATCH_SIZE):
        pending.append((line, record_id))
        if len(pending) == BATCH_SIZE:
            touched += _touched_in(job, record_type, pending)
            pending = []
    if pending:
        touched += _touched_in(job, record_type, pending)
    return touched


def _touched_in(job: ImportJob, record_type: str, pairs: list[tuple[int, int]]) -> list[int]:
    ids = {record_id for _line, record_id in pairs}
    latest = (
        Event.objects.filter(record_type=record_type, record_id__in=ids)
        .values("record_id")
        .annotate(last=Max("id"))
        .values_list("last", flat=True)
    )
    foreign = {
        event.record_id
        for event in Event.objects.filter(id__in=list(latest)).only("record_id", "context")
        if (event.context or {}).get("import_job") != job.pk
    }
    return [line for line, record_id in pairs if record_id in foreign]


def _changed_since_message(lines: list[int]) -> str:
    shown = ", ".join(str(line) for line in lines[:10])
    more = len(lines) - 10
    text = ngettext(
        "Nothing was undone: the record of row %(lines)s was changed after the import.",
        "Nothing was undone: the records of rows %(lines)s were changed after the import.",
        len(lines),
    ) % {"lines": shown}
    if more > 0:
        text += " " + ngettext("(and %(n)d more row)", "(and %(n)d more rows)", more) % {"n": more}
    return text


def _values_before(record, before: dict) -> dict:
    """The JSON values an update replaced, as model values again."""
    model, data = type(record), {}
    for name, value in (before or {}).items():
        if name == "custom":
            # Values the import added are cleared (None), the ones it replaced put back.
            data[name] = {**dict.fromkeys(record.custom or {}), **(value or {})}
            continue
        model_field = model._meta.get_field(name)
        if model_field.is_relation:
            related = model_field.related_model._default_manager
            data[name] = related.filter(pk=value).first() if value is not None else None
        else:
            data[name] = model_field.to_python(value)
    return data
