"""Large exports: written by a Celery task (eager here) to a file, listed on "My exports",
downloadable by their owner only, deleted once expired."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models import Notification
from exports import views
from exports.models import ExportJob, ExportState
from exports.services import export_dir, export_jobs_expire
from tests.crm.factories import DealFactory
from tests.exports.helpers import body, column, export_url, read_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def export_files(settings, tmp_path):
    settings.CRM_EXPORT_DIR = tmp_path / "exports"
    return settings.CRM_EXPORT_DIR


@pytest.fixture
def small_limit(monkeypatch):
    monkeypatch.setattr(views, "STREAM_LIMIT", 2)


@pytest.fixture
def deals(rep, sales_team):
    return [DealFactory(name=f"Deal {n}", owner=rep, team=sales_team) for n in range(3)]


def _start(client, django_capture_on_commit_callbacks, *, source="deals", fmt="csv", query=""):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(
            reverse("export-start"), {"source": source, "format": fmt, "query": query}
        )


def test_a_list_past_the_limit_offers_a_background_export(client, rep, deals, small_limit):
    client.force_login(rep)

    response = client.get(export_url("deals", "sort=name", "xlsx"))

    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="export-large"' in page
    assert reverse("export-start") in page
    assert 'name="query" value="sort=name"' in page
    assert not ExportJob.objects.exists()  # a GET starts nothing


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_job_writes_a_file_its_owner_downloads(
    client, rep, deals, export_files, eager_tasks, django_capture_on_commit_callbacks, fmt
):
    client.force_login(rep)

    response = _start(client, django_capture_on_commit_callbacks, fmt=fmt, query="sort=-name")

    assert response.status_code == 302
    job = ExportJob.objects.get(owner=rep)
    assert (job.state, job.row_count, job.format) == (ExportState.DONE, 3, fmt)
    assert (export_files / job.file_name).is_file()
    assert Notification.objects.filter(recipient=rep, key=f"export-{job.pk}").exists()
    listing = client.get(reverse("exports")).content.decode()
    assert reverse("export-download", args=[job.pk]) in listing

    download = client.get(reverse("export-download", args=[job.pk]))

    assert download.status_code == 200
    assert column(read_rows(download, fmt), "Name") == ["Deal 2", "Deal 1", "Deal 0"]


def test_only_the_owner_can_download_an_export(
    client,
    rep,
    teammate,
    admin_user,
    deals,
    export_files,
    eager_tasks,
    django_capture_on_commit_callbacks,
):
    client.force_login(rep)
    _start(client, django_capture_on_commit_callbacks)
    job = ExportJob.objects.get(owner=rep)
    url = reverse("export-download", args=[job.pk])

    for other in (teammate, admin_user):
        client.force_login(other)
        assert client.get(url).status_code == 404
        assert (
            reverse("export-download", args=[job.pk])
            not in client.get(reverse("exports")).content.decode()
        )


def test_the_job_exports_what_its_owner_sees(
    client,
    rep,
    outsider,
    other_team,
    deals,
    export_files,
    eager_tasks,
    django_capture_on_commit_callbacks,
):
    DealFactory(name="Theirs", owner=outsider, team=other_team)
    client.force_login(rep)

    _start(client, django_capture_on_commit_callbacks)

    job = ExportJob.objects.get(owner=rep)
    rows = read_rows(client.get(reverse("export-download", args=[job.pk])), "csv")
    assert "Theirs" not in column(rows, "Name")
    assert len(rows) - 1 == 3


def test_a_rep_cannot_start_a_whole_type_export(
    client, rep, deals, export_files, django_capture_on_commit_callbacks
):
    client.force_login(rep)

    response = _start(client, django_capture_on_commit_callbacks, source="type:deal")

    assert response.status_code == 403
    assert not ExportJob.objects.exists()


@pytest.mark.parametrize(
    ("data", "status"),
    [
        ({"source": "nope", "format": "csv", "query": ""}, 404),
        ({"source": "deals", "format": "pdf", "query": ""}, 400),
        ({"source": "deals", "format": "csv", "query": "owner=abc"}, 400),
        ({"source": "deals", "format": "csv", "query": "q=%00\x01"}, 400),
        ({"source": "x" * 500, "format": "csv"}, 400),
        ({}, 400),
    ],
)
def test_a_bad_start_is_refused_and_writes_nothing(client, rep, data, status):
    client.force_login(rep)

    response = client.post(reverse("export-start"), data)

    assert response.status_code == status
    assert not ExportJob.objects.exists()


def test_my_exports_polls_while_a_job_is_being_written(client, rep):
    ExportJob.objects.create(owner=rep, source="deals", format="csv")
    client.force_login(rep)

    partial = client.get(reverse("exports"), headers={"HX-Request": "true"})

    assert partial.status_code == 200
    assert 'hx-trigger="every 2s"' in partial.content.decode()
    assert "<html" not in partial.content.decode()


def test_expired_exports_are_deleted_with_their_files(
    client, rep, deals, export_files, eager_tasks, django_capture_on_commit_callbacks
):
    client.force_login(rep)
    _start(client, django_capture_on_commit_callbacks)
    job = ExportJob.objects.get(owner=rep)
    path = export_dir() / job.file_name

    assert export_jobs_expire(now=job.expires_at - timedelta(seconds=1)) == 0
    assert export_jobs_expire(now=job.expires_at + timedelta(seconds=1)) == 1

    assert not path.exists()
    assert not ExportJob.objects.exists()
    assert client.get(reverse("export-download", args=[job.pk])).status_code == 404


def test_an_expired_export_is_no_longer_downloadable(
    client, rep, deals, export_files, eager_tasks, django_capture_on_commit_callbacks
):
    client.force_login(rep)
    _start(client, django_capture_on_commit_callbacks)
    job = ExportJob.objects.get(owner=rep)
    ExportJob.objects.filter(pk=job.pk).update(expires_at=timezone.now() - timedelta(minutes=1))

    response = client.get(reverse("export-download", args=[job.pk]))

    assert response.status_code == 404
    body(response)


def test_a_large_kpi_drilldown_is_written_in_the_background(
    client,
    manager,
    rep,
    sales_team,
    export_files,
    eager_tasks,
    django_capture_on_commit_callbacks,
    monkeypatch,
):
    from crm.models import StageOutcome
    from exports import services
    from tests.metrics.test_live_numbers import closed_deal

    monkeypatch.setattr(services, "STREAM_LIMIT", 2)
    won = [closed_deal(rep, sales_team, StageOutcome.WON) for _ in range(3)]
    client.force_login(manager)

    offered = client.get(reverse("kpi-export", args=["deals_won_count"]) + "?grain=month")
    assert 'data-testid="export-large"' in offered.content.decode()
    assert 'name="source" value="kpi:deals_won_count"' in offered.content.decode()

    _start(
        client,
        django_capture_on_commit_callbacks,
        source="kpi:deals_won_count",
        query="grain=month",
    )
    job = ExportJob.objects.get(owner=manager)
    assert (job.state, job.row_count) == (ExportState.DONE, 3)
    rows = read_rows(client.get(reverse("export-download", args=[job.pk])), "csv")
    assert sorted(column(rows, "Deal")) == sorted(deal.name for deal in won)
    assert "Records behind Deals won" in client.get(reverse("exports")).content.decode()


def test_a_kpi_source_never_exports_what_its_user_may_not_read(
    client, outsider, export_files, eager_tasks, django_capture_on_commit_callbacks
):
    client.force_login(outsider)
    response = _start(
        client, django_capture_on_commit_callbacks, source="kpi:no_such_kpi", query="grain=month"
    )
    assert response.status_code in (302, 400, 404)
    assert not ExportJob.objects.filter(state=ExportState.DONE).exists()
