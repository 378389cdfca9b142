"""The import pages: upload, mapping with its preview, the form's own errors."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from crm.models import Contact, Event
from imports.models import ImportJob, JobState

pytestmark = pytest.mark.django_db


@pytest.fixture
def uploaded(client, sales_team):
    client.force_login(sales_team["rep"])
    content = b"Last name;Email;Owner\nParks;rosa@example.org;marco\nLee;not-an-email;olga\n"
    response = client.post(
        "/imports/contact/new/", {"file": SimpleUploadedFile("people.csv", content)}
    )
    job = ImportJob.objects.get()
    assert response.url == f"/imports/{job.pk}/"
    return job


def test_the_preview_page_shows_each_rows_problems_by_column(client, uploaded):
    response = client.post(
        f"/imports/{uploaded.pk}/",
        {
            "column_0": "last_name",
            "column_1": "email",
            "column_2": "owner",
            "duplicate_policy": "skip",
            "match_key": "email",
            "preview": "1",
        },
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="import-preview"' in page
    assert "New record" in page and "Enter a valid email address." in page
    assert "is not you or a member of your teams" in page
    assert not Contact.objects.exists() and not Event.objects.exists()
    uploaded.refresh_from_db()
    assert uploaded.state == JobState.MAPPING


def test_a_mapping_with_a_field_twice_or_no_required_column_is_refused(client, uploaded):
    twice = client.post(
        f"/imports/{uploaded.pk}/",
        {
            "column_0": "email",
            "column_1": "email",
            "duplicate_policy": "skip",
            "match_key": "email",
            "start": "1",
        },
    )
    assert twice.status_code == 400
    page = twice.content.decode()
    assert "Another column already goes to this field." in page
    assert "Choose a column for: Last name." in page
    bogus = client.post(
        f"/imports/{uploaded.pk}/",
        {"column_0": "password", "duplicate_policy": "merge", "match_key": "ssn", "start": "1"},
    )
    assert bogus.status_code == 400
    uploaded.refresh_from_db()
    assert uploaded.state == JobState.MAPPING


def test_the_match_key_needs_its_column(client, uploaded):
    response = client.post(
        f"/imports/{uploaded.pk}/",
        {"column_0": "last_name", "duplicate_policy": "update", "match_key": "email", "start": "1"},
    )
    assert response.status_code == 400
    assert "Choose a column for the field duplicates are matched on." in response.content.decode()


def test_a_started_import_does_not_start_twice(client, uploaded, capture):
    data = {
        "column_0": "last_name",
        "duplicate_policy": "create",
        "match_key": "email",
        "start": "1",
    }
    with capture(execute=True):
        client.post(f"/imports/{uploaded.pk}/", data)
        again = client.post(f"/imports/{uploaded.pk}/", data)
    assert again.status_code == 302
    uploaded.refresh_from_db()
    assert (uploaded.state, uploaded.created_count) == (JobState.DONE, 2)
    assert Contact.objects.count() == 2
