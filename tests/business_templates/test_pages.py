"""The business templates' settings pages: admins preview then apply; everyone else is refused
with nothing written; a broken template file is refused on the page with nothing written."""

import json
import shutil

import pytest
from django.urls import reverse

from business_templates import loader
from business_templates.models import AppliedItem
from crm.models import CustomField, Pipeline
from metrics.models import Dashboard

pytestmark = pytest.mark.django_db

LIST = reverse("settings-templates")
SAAS = reverse("settings-template", kwargs={"slug": "b2b_saas"})


def written() -> tuple:
    return (
        AppliedItem.objects.count(),
        Pipeline.objects.count(),
        CustomField.objects.count(),
        Dashboard.objects.count(),
    )


def test_an_admin_sees_the_three_templates_in_the_settings_menu(client, admin_user):
    client.force_login(admin_user)

    page = client.get(LIST)

    assert page.status_code == 200
    html = page.content.decode()
    for name in ("B2B SaaS", "Services agency", "E-commerce"):
        assert name in html
    assert 'aria-current="page" href="/settings/templates/"' in html
    assert 'href="/settings/templates/"' in client.get(reverse("settings")).content.decode()


def test_the_preview_lists_what_would_be_added_and_writes_nothing(client, admin_user):
    client.force_login(admin_user)
    before = written()

    page = client.get(SAAS)

    assert page.status_code == 200
    html = page.content.decode()
    assert "Pipeline:</span> Renewals" in html
    assert "Dashboard:</span> Churn and retention" in html
    assert "Automation rule (disabled):</span> SaaS deal won" in html
    assert written() == before


def test_applying_adds_the_items_then_lists_them_and_adds_nothing_the_second_time(
    client, admin_user
):
    client.force_login(admin_user)

    first = client.post(SAAS, follow=True)
    after_first = written()
    second = client.post(SAAS, follow=True)

    assert first.redirect_chain == [(SAAS, 302)]
    assert "items added: SaaS new business, Renewals" in first.content.decode()
    assert Pipeline.objects.filter(name="Renewals").exists()
    assert Dashboard.objects.filter(owner=admin_user, name="SaaS revenue (MRR)").exists()
    history = first.content.decode().split('data-testid="template-history"')[1]
    assert "Renewals" in history
    assert "Nothing to add" in second.content.decode()
    assert written() == after_first
    assert "disabled" in second.content.decode()  # the apply button, nothing left to add


@pytest.mark.parametrize("persona", ["rep", "agent", "manager"])
def test_other_roles_can_neither_preview_nor_apply(client, persona, request):
    client.force_login(request.getfixturevalue(persona))
    before = written()

    assert client.get(LIST).status_code == 403
    assert client.get(SAAS).status_code == 403
    assert client.post(SAAS).status_code == 403
    assert written() == before


def test_a_visitor_is_sent_to_log_in(client):
    assert client.post(SAAS).status_code == 302
    assert AppliedItem.objects.count() == 0


def test_an_unknown_template_is_not_found(client, admin_user):
    client.force_login(admin_user)

    assert client.get(reverse("settings-template", kwargs={"slug": "nope"})).status_code == 404
    assert client.post(reverse("settings-template", kwargs={"slug": "nope"})).status_code == 404


def test_a_broken_template_is_refused_on_the_page_with_nothing_written(
    client, admin_user, tmp_path, monkeypatch
):
    for path in loader.DATA_DIR.glob("*.json"):
        shutil.copy(path, tmp_path)
    data = json.loads((tmp_path / "b2b_saas.json").read_text())
    data["pipelines"][0]["stages"][0]["probability"] = -5
    (tmp_path / "b2b_saas.json").write_text(json.dumps(data))
    monkeypatch.setattr(loader, "DATA_DIR", tmp_path)
    client.force_login(admin_user)
    before = written()

    page = client.post(SAAS)
    listing = client.get(LIST)

    assert page.status_code == 400
    assert "Nothing was written" in page.content.decode()
    assert "b2b_saas.json: pipelines[0].stages[0].probability" in page.content.decode()
    assert written() == before
    assert "b2b_saas.json: pipelines[0].stages[0].probability" in listing.content.decode()
    assert "Services agency" in listing.content.decode()


def test_the_page_shows_what_the_user_renamed_as_already_there(client, admin_user):
    client.force_login(admin_user)
    client.post(SAAS)
    Pipeline.objects.filter(name="Renewals").update(name="Our renewals")

    html = client.get(SAAS).content.decode()

    present = html.split('data-testid="template-present"')[1]
    assert "Our renewals" in present
    assert not Pipeline.objects.filter(name="Renewals").exists()


def test_the_preview_page_is_translated(client, admin_user):
    """Needs the lead's merge of var/i18n/templates.json into the catalogues."""
    admin_user.language = "pt-br"
    admin_user.save(update_fields=["language"])
    client.force_login(admin_user)

    html = client.get(SAAS, HTTP_ACCEPT_LANGUAGE="pt-br").content.decode()

    assert "Aplicar este modelo" in html


def test_the_list_reads_each_menu_once_for_all_templates(client, admin_user):
    """Checking the three templates' rules reads the stages, users and custom fields once, and
    the applied counts in one query, not once a rule, a language and a template."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(admin_user)
    client.get(LIST)

    with CaptureQueriesContext(connection) as queries:
        page = client.get(LIST)

    assert page.status_code == 200
    statements = [query["sql"] for query in queries.captured_queries]
    for table in ("crm_stage", "crm_customfield", "business_templates_applieditem"):
        reads = [sql for sql in statements if f'FROM "{table}"' in sql]
        assert len(reads) <= 1, (table, len(reads))
