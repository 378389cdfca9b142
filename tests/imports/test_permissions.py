"""Who imports what: the record type's add and change permissions, records only for oneself
or one's teammates, and a job's pages for its importer alone."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from crm.models import Company, Contact, Role
from imports.models import ImportJob
from tests.factories import UserFactory

from .conftest import csv_bytes, run, upload

pytestmark = pytest.mark.django_db

CONTACTS = csv_bytes([["Last name", "Owner"], ["Parks", "marco"], ["Lee", "olga"], ["Kim", ""]])


def test_a_rep_imports_only_for_themselves_and_teammates(sales_team, capture):
    job = run(upload(sales_team["rep"], "contact", CONTACTS), capture=capture)
    assert (job.created_count, job.failed_count) == (2, 1)
    owners = dict(Contact.objects.values_list("last_name", "owner__username"))
    assert owners == {"Parks": "marco", "Kim": "ana"}
    error = job.rows.get(action="failed").error
    assert "“olga” is not you or a member of your teams" in error


def test_an_admin_gives_records_to_anyone(admin_user, sales_team, capture):
    job = run(upload(admin_user, "contact", CONTACTS), capture=capture)
    assert job.created_count == 3


@pytest.mark.parametrize(
    ("role", "record_type", "allowed"),
    [
        (Role.SALES_REP, "contact", True),
        (Role.SALES_REP, "deal", True),
        (Role.SALES_REP, "ticket", False),
        (Role.SALES_REP, "subscription", False),
        (Role.SALES_REP, "expense", False),
        (Role.SUPPORT_AGENT, "ticket", True),
        (Role.SUPPORT_AGENT, "company", False),
        (Role.MANAGER, "expense", True),
    ],
)
def test_the_upload_page_needs_the_types_add_and_change_permissions(
    client, role, record_type, allowed
):
    user = UserFactory(role=role)
    client.force_login(user)
    page = client.get(f"/imports/{record_type}/new/")
    post = client.post(
        f"/imports/{record_type}/new/",
        {"file": SimpleUploadedFile("x.csv", b"Name,Subject\nAcme,Help\n")},
    )
    assert page.status_code == (200 if allowed else 403)
    assert post.status_code == (302 if allowed else 403)
    assert ImportJob.objects.exists() == allowed


def test_another_users_job_is_not_found(client, sales_team, capture):
    job = upload(sales_team["rep"], "company", csv_bytes([["Name"], ["Acme"]]))
    client.force_login(sales_team["mate"])
    for url in (
        f"/imports/{job.pk}/",
        f"/imports/{job.pk}/progress/",
        f"/imports/{job.pk}/failed-rows.csv",
    ):
        assert client.get(url).status_code == 404
    assert (
        client.post(
            f"/imports/{job.pk}/",
            {"column_0": "name", "start": "1", "duplicate_policy": "create", "match_key": "name"},
        ).status_code
        == 404
    )
    assert client.post(f"/imports/{job.pk}/undo/").status_code == 404
    job.refresh_from_db()
    assert job.state == "mapping" and not Company.objects.exists()


def test_a_job_is_refused_once_its_importer_lost_the_permission(client, sales_team):
    rep = sales_team["rep"]
    job = upload(rep, "company", csv_bytes([["Name"], ["Acme"]]))
    rep.groups.clear()
    client.force_login(rep)
    assert client.get(f"/imports/{job.pk}/").status_code == 403


def test_the_imports_page_offers_the_types_the_user_may_import(client, sales_team):
    client.force_login(sales_team["rep"])
    content = client.get("/imports/").content.decode()
    assert "/imports/contact/new/" in content
    assert "/imports/expense/new/" not in content
