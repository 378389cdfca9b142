"""The demo's finished import and export: on first run Ana's trade-fair contacts are in (two
rows refused, listed in the report) and Carla's deal export is ready; a second run adds none."""

from io import StringIO

import pytest
from django.core.management import call_command

from crm.models import Contact
from exports.models import ExportJob, ExportState
from exports.services import export_path
from imports.demo import seed_demo_transfers
from imports.models import ImportJob, JobState


@pytest.mark.django_db
def test_the_demo_has_a_finished_import_and_export(eager_tasks, settings, tmp_path):
    settings.CRM_EXPORT_DIR = tmp_path / "exports"
    call_command("seed_demo", "--scale", "small", stdout=StringIO())
    seed_demo_transfers()

    job = ImportJob.objects.get(created_by__username="ana")
    assert job.state == JobState.DONE
    assert (job.created_count, job.failed_count) == (8, 2)
    ines = Contact.objects.get(email="ines.carvalho@lisbon-logistics.example")
    assert (ines.first_name, ines.owner.username) == ("Inês", "ana")

    export = ExportJob.objects.get(owner__username="carla")
    assert export.state == ExportState.DONE and export.row_count > 0
    assert export_path(export).stat().st_size > 0

    seed_demo_transfers()
    assert ImportJob.objects.count() == 1 and ExportJob.objects.count() == 1
