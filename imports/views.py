"""Import pages: upload, map and preview, progress, report, failed rows, undo.

Who may import a record type is decided in crm.access (`may_import`, and the upload routes in
ROUTE_PERMISSIONS); a job's pages are its importer's alone (others get 404)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from crm import access, limits
from crm.forms.bootstrap import bootstrap
from crm.redirects import redirect_to

from . import services
from .forms import MappingForm, UploadForm
from .kinds import targets_for
from .models import ImportJob, ImportType, JobState
from .reading import FileProblem

RECENT_JOBS = 20


def get_job_for_user(user, pk) -> ImportJob:
    """The user's own import (404 for anyone else's); 403 once they may no longer import its
    record type."""
    job = ImportJob.objects.filter(created_by=user, pk=pk).first()
    if job is None:
        raise Http404
    if not access.may_import(user, job.record_type):
        raise PermissionDenied
    return job


@require_GET
def imports_home(request):
    types = [
        (value, label)
        for value, label in ImportType.choices
        if access.may_import(request.user, value)
    ]
    jobs = ImportJob.objects.filter(created_by=request.user)[:RECENT_JOBS]
    return render(
        request, "imports/home.html", {"types": types, "jobs": jobs, "section": "imports"}
    )


def import_new(request, record_type):
    if not access.may_import(request.user, record_type):
        raise PermissionDenied
    label = ImportType(record_type).label
    form = bootstrap(UploadForm())
    status = 200
    if request.method == "POST":
        form, status, job = _upload(request, record_type)
        if job is not None:
            return redirect_to(reverse("import-job", args=[job.pk]))
    context = {
        "form": form,
        "record_type": record_type,
        "label": label,
        "section": "imports",
        "max_mb": limits.IMPORT_MAX_BYTES // 1_000_000,
    }
    return render(request, "imports/new.html", context, status=status)


def _upload(request, record_type):
    # Django has streamed the upload to a temporary file by now (never whole into memory);
    # the service refuses it by its size before reading a byte of it.
    form = bootstrap(UploadForm(request.POST, request.FILES))
    if not form.is_valid():
        return form, 400, None
    try:
        job = services.import_upload(
            user=request.user, record_type=record_type, uploaded=form.cleaned_data["file"]
        )
    except FileProblem as problem:
        form.add_error("file", problem.message)
        return form, 400, None
    return form, 200, job


def import_job(request, pk):
    job = get_job_for_user(request.user, pk)
    if job.state != JobState.MAPPING:
        if request.method == "POST":
            messages.warning(request, _("This import has already started."))
            return redirect_to(reverse("import-job", args=[job.pk]))
        return _report_page(request, job)
    form = bootstrap(MappingForm(request.POST or None, job=job))
    preview = None
    status = 200
    if request.method == "POST":
        if not form.is_valid():
            status = 400
        else:
            services.import_configure(
                job,
                mapping=form.cleaned_data["mapping"],
                duplicate_policy=form.cleaned_data["duplicate_policy"],
                match_key=form.cleaned_data["match_key"],
                all_or_nothing=form.cleaned_data["all_or_nothing"],
            )
            if "start" in request.POST:
                try:
                    services.import_start(job)
                except services.ImportRefused as refusal:
                    messages.warning(request, refusal.message)
                return redirect_to(reverse("import-job", args=[job.pk]))
            preview = _preview_table(job)
    context = {
        "job": job,
        "form": form,
        "preview": preview,
        "section": "imports",
    }
    return render(request, "imports/map.html", context, status=status)


def _preview_table(job: ImportJob) -> dict:
    """Columns as mapped, and per row its values, what it would do and its problems."""
    try:
        outcomes = services.import_preview(job)
    except FileProblem as problem:
        return {"error": problem.message}
    except OSError:
        return {"error": _("The uploaded file is no longer there: upload it again.")}
    labels = {target.key: str(target.label) for target in targets_for(job.record_type)}
    columns = [(int(index), key, labels.get(key, key)) for index, key in job.mapping.items()]
    rows = []
    for outcome in outcomes:
        cells = [
            {
                "value": outcome.cells[index] if index < len(outcome.cells or []) else "",
                "error": outcome.errors.get(key, ""),
            }
            for index, key, _label in columns
        ]
        shown = {key for _index, key, _label in columns}
        others = [message for key, message in outcome.errors.items() if key not in shown]
        rows.append({"outcome": outcome, "cells": cells, "others": others})
    return {"columns": columns, "rows": rows}


def _report_page(request, job: ImportJob):
    failed = job.rows.filter(action="failed").order_by("line")[:50]
    context = {"job": job, "failed": failed, "section": "imports"}
    return render(request, "imports/job.html", context)


@require_GET
def import_progress(request, pk):
    job = get_job_for_user(request.user, pk)
    response = render(request, "imports/_progress.html", {"job": job})
    if not job.is_working and request.headers.get("HX-Request"):
        response["HX-Refresh"] = "true"  # finished: the whole page shows the report
    return response


@require_GET
def import_failed_rows(request, pk):
    job = get_job_for_user(request.user, pk)
    response = StreamingHttpResponse(
        services.failed_rows_csv(job), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-failed-rows.csv"'
    return response


@require_POST
def import_undo(request, pk):
    job = get_job_for_user(request.user, pk)
    try:
        services.import_undo_request(job)
    except services.ImportRefused as refusal:
        messages.warning(request, refusal.message)
    return redirect_to(reverse("import-job", args=[job.pk]))
