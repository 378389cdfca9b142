"""Saving an edit form without changing anything writes no change: no event, no new values
(issue 16, item 11: an unticked checkbox was logged as `{}` → `{"cf_checkbox": false}`).

The form is submitted as a browser would submit the page it was given, for a deal with each
type of custom field, left empty or filled in."""

import pytest
from django.urls import reverse

from crm import services
from crm.models import Deal, Event, FieldType, RecordType
from tests.browser_forms import as_a_browser_posts
from tests.crm.factories import CompanyFactory, CustomFieldFactory

pytestmark = pytest.mark.django_db


CHOICES = ["CRM", "Support", "Training"]
# A value of each type as a person or the API would have stored it.
FILLED = {
    FieldType.TEXT: "Renewal via partner",
    FieldType.LONG_TEXT: "First line\nSecond line",
    FieldType.NUMBER: 12.5,
    FieldType.MONEY: "1234.50",
    FieldType.DATE: "2025-03-01",
    FieldType.DATETIME: "2025-03-01T13:30:45+00:00",
    FieldType.SELECT: "Support",
    FieldType.MULTI_SELECT: ["CRM", "Training"],
    FieldType.CHECKBOX: True,
    FieldType.URL: "https://example.com/offer",
    FieldType.EMAIL: "buyer@example.com",
    FieldType.USER: "rep",
}


@pytest.fixture
def every_type(db):
    for kind in FieldType.values:
        CustomFieldFactory(
            record_type=RecordType.DEAL,
            key=f"cf_{kind}",
            field_type=kind,
            choices=CHOICES if kind in (FieldType.SELECT, FieldType.MULTI_SELECT) else [],
        )


def save_unchanged(client, deal):
    url = reverse("deal-edit", args=[deal.pk])
    page = client.get(url)
    assert page.status_code == 200
    return client.post(url, as_a_browser_posts(page.content.decode()))


@pytest.mark.parametrize("kind", FieldType.values)
@pytest.mark.parametrize("filled", [False, True], ids=["empty", "filled"])
def test_saving_a_deal_unchanged_writes_no_change(
    client, rep, sales_team, every_type, kind, filled
):
    custom = {}
    if filled:
        value = FILLED[kind]
        custom[f"cf_{kind}"] = rep.pk if value == "rep" else value
    deal = services.deal_create(
        actor=rep,
        data={
            "name": "Acme renewal",
            "company": CompanyFactory(owner=rep, team=sales_team),
            "amount": 5000,
            "custom": custom,
        },
    )
    stored = Deal.objects.get(pk=deal.pk).custom
    client.force_login(rep)

    response = save_unchanged(client, deal)

    assert response.status_code == 302, response.context["form"].errors
    assert list(Event.objects.filter(type="deal.updated").values_list("changes", flat=True)) == []
    assert Deal.objects.get(pk=deal.pk).custom == stored


def test_a_real_change_is_still_recorded(client, rep, sales_team, every_type):
    deal = services.deal_create(
        actor=rep,
        data={"name": "Acme renewal", "amount": 5000, "custom": {"cf_checkbox": True}},
    )
    client.force_login(rep)
    url = reverse("deal-edit", args=[deal.pk])
    posted = as_a_browser_posts(client.get(url).content.decode())
    del posted["custom__cf_checkbox"]  # unticked

    assert client.post(url, posted).status_code == 302

    event = Event.objects.filter(type="deal.updated").get()
    assert event.changes == {"custom": [{"cf_checkbox": True}, {"cf_checkbox": False}]}
