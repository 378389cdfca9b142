"""Imports' test helpers: uploads land in a temporary MEDIA_ROOT; tasks run eagerly."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from crm.models import Role
from imports import services
from tests.factories import TeamFactory, UserFactory


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return settings.MEDIA_ROOT


@pytest.fixture
def capture(django_capture_on_commit_callbacks, eager_tasks):
    return django_capture_on_commit_callbacks


@pytest.fixture
def admin_user(db):
    return UserFactory(username="diego", role=Role.ADMIN, is_staff=True, is_superuser=True)


@pytest.fixture
def sales_team(db):
    rep = UserFactory(username="ana", email="ana@crm.example", role=Role.SALES_REP)
    mate = UserFactory(username="marco", email="marco@crm.example", role=Role.SALES_REP)
    outsider = UserFactory(username="olga", email="olga@crm.example", role=Role.SALES_REP)
    team = TeamFactory(name="Sales", members=[rep, mate])
    TeamFactory(name="Other", members=[outsider])
    return {"rep": rep, "mate": mate, "outsider": outsider, "team": team}


def csv_bytes(rows, delimiter=",", encoding="utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    return buffer.getvalue().encode(encoding)


def upload(user, record_type, content: bytes, name="data.csv"):
    return services.import_upload(
        user=user, record_type=record_type, uploaded=SimpleUploadedFile(name, content)
    )


def run(job, *, capture, mapping=None, policy="skip", match_key=None, all_or_nothing=False):
    """Configure, start and (tasks eager) run an import; the job as it ended."""
    services.import_configure(
        job,
        mapping=mapping if mapping is not None else job.mapping,
        duplicate_policy=policy,
        match_key=match_key if match_key is not None else job.match_key,
        all_or_nothing=all_or_nothing,
    )
    # The run is sent when the start commits; the test's transaction never does.
    with capture(execute=True):
        services.import_start(job)
    job.refresh_from_db()
    return job
