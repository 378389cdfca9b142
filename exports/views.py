"""Export pages: a list or a whole type as CSV or XLSX, streamed when small; larger ones are
written by a Celery task and listed on "My exports" until they expire.

Every export is a GET of the list's own query string plus `format`. The rows are what the
list's user may see (exports.sources starts from crm.access).
"""

from django.contrib import messages
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from .forms import StartForm
from .models import ExportFormat, ExportJob
from .services import (
    KPI_PREFIX,
    STREAM_LIMIT,
    TYPE_PREFIX,
    BadQuery,
    build_table,
    export_job_start,
    export_path,
)
from .sources import SOURCES, WHOLE_TYPES
from .tables import Table
from .writers import CONTENT_TYPES, CSV, XLSX, csv_lines, xlsx_response

# Jobs shown on "My exports".
JOBS_SHOWN = 20


@require_GET
def export_list(request, source: str):
    if source not in SOURCES:
        raise Http404
    return _export(request, source)


@require_GET
def export_type(request, record_type: str):
    if record_type not in WHOLE_TYPES:
        raise Http404
    return _export(request, TYPE_PREFIX + record_type)


def _export(request, source: str):
    fmt = request.GET.get("format", CSV)
    if fmt not in ExportFormat.values:
        return _refused(request, _("Choose CSV or XLSX."))
    query = _query_without_format(request)
    try:
        table = build_table(user=request.user, source=source, query=query)
        rows = table.count_upto(STREAM_LIMIT + 1)
    except BadQuery as error:
        return _refused(request, str(error))
    except LookupError as error:
        raise Http404 from error
    if rows > STREAM_LIMIT:
        form = StartForm(initial={"source": source, "format": fmt, "query": query})
        context = {"form": form, "limit": STREAM_LIMIT, "fmt": fmt, "section": "exports"}
        return render(request, "exports/large.html", context)
    return stream(table, fmt)


def _query_without_format(request) -> str:
    params = request.GET.copy()
    for ignored in ("format", "page"):
        params.pop(ignored, None)
    return params.urlencode()


def _refused(request, message: str, status: int = 400):
    return render(request, "exports/refused.html", {"message": message}, status=status)


def stream(table: Table, fmt: str):
    """The table as a download: CSV streamed row by row, XLSX from a temporary file."""
    filename = f"{table.filename}-{timezone.localdate():%Y-%m-%d}.{fmt}"
    if fmt == XLSX:
        return xlsx_response(table.headers, table.rows(), filename, title=table.filename)
    response = StreamingHttpResponse(
        csv_lines(table.headers, table.rows(), bom=True), content_type=CONTENT_TYPES[CSV]
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_POST
def export_start(request):
    form = StartForm(request.POST)
    if not form.is_valid():
        return _refused(request, _("This export cannot be started."))
    data = form.cleaned_data
    try:
        export_job_start(
            user=request.user, source=data["source"], fmt=data["format"], query=data["query"]
        )
    except BadQuery as error:
        return _refused(request, str(error))
    except LookupError as error:
        raise Http404 from error
    messages.success(request, _("Your export is being written: it will be listed here."))
    return redirect("exports")


@require_GET
def export_jobs(request):
    """My exports; with htmx, only the table (polled while one is being written)."""
    jobs = list(ExportJob.objects.filter(owner=request.user)[:JOBS_SHOWN])
    for job in jobs:
        job.label = _label(job.source)
    context = {"jobs": jobs, "working": any(job.is_working for job in jobs), "section": "exports"}
    template = "exports/_jobs.html" if request.htmx else "exports/jobs.html"
    return render(request, template, context)


def _label(source: str) -> str:
    if source.startswith(TYPE_PREFIX):
        record_type = source.removeprefix(TYPE_PREFIX)
        model = WHOLE_TYPES.get(record_type)
        name = model._meta.verbose_name_plural if model else record_type
        return _("All %(records)s") % {"records": name}
    if source.startswith(KPI_PREFIX):
        from metrics.registry import REGISTRY, all_kpis

        all_kpis()
        kpi = REGISTRY.get(source.removeprefix(KPI_PREFIX))
        if kpi is not None:
            return _("Records behind %(kpi)s") % {"kpi": kpi.label}
    return str(SOURCES[source].label) if source in SOURCES else source


@require_GET
def export_download(request, pk: int):
    """A written export, for its owner only (anyone else: 404)."""
    job = ExportJob.objects.filter(owner=request.user, pk=pk).first()
    path = export_path(job) if job else None
    if path is None:
        raise Http404
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=job.download_name or path.name,
        content_type=CONTENT_TYPES.get(job.format, "application/octet-stream"),
    )
