"""Saving an edit form without changing anything writes no change: no event, no new values
(issue 16, item 11: an unticked checkbox was logged as `{}` → `{"cf_checkbox": false}`).

The form is submitted as a browser would submit the page it was given, for a deal with each
type of custom field, left empty or filled in."""

from html.parser import HTMLParser

import pytest
from django.urls import reverse

from crm import services
from crm.models import Deal, Event, FieldType, RecordType
from tests.crm.factories import CompanyFactory, CustomFieldFactory

pytestmark = pytest.mark.django_db


class PostedForm(HTMLParser):
    """What a browser sends for the page's first post form without an action."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.data: list[tuple[str, str]] = []
        self.in_form = self.done = False
        self.select: dict | None = None
        self.option: dict | None = None
        self.textarea: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and not self.done:
            self.in_form = attrs.get("method") == "post" and "action" not in attrs
        if not self.in_form:
            return
        name = attrs.get("name")
        if tag == "input" and name and "disabled" not in attrs:
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.data.append((name, attrs.get("value", "on")))
            elif kind not in ("submit", "button", "reset", "file"):
                self.data.append((name, attrs.get("value", "")))
        elif tag == "select" and name:
            self.select = {"name": name, "multiple": "multiple" in attrs, "options": []}
        elif tag == "option" and self.select is not None:
            self.option = {"value": attrs.get("value"), "selected": "selected" in attrs, "t": ""}
            self.select["options"].append(self.option)
        elif tag == "textarea" and name:
            self.textarea = {"name": name, "text": ""}

    def handle_data(self, data):
        if self.option is not None:
            self.option["t"] += data
        if self.textarea is not None:
            self.textarea["text"] += data

    def handle_endtag(self, tag):
        if tag == "option":
            self.option = None
        elif tag == "select" and self.select is not None:
            options = self.select["options"]
            chosen = [o for o in options if o["selected"]]
            if not chosen and options and not self.select["multiple"]:
                chosen = options[:1]
            for option in chosen:
                value = option["value"] if option["value"] is not None else option["t"]
                self.data.append((self.select["name"], value))
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            # A browser drops the newline that follows <textarea>.
            self.data.append((self.textarea["name"], self.textarea["text"].removeprefix("\n")))
            self.textarea = None
        elif tag == "form" and self.in_form:
            self.in_form, self.done = False, True


def as_a_browser_posts(html: str) -> dict[str, list[str]]:
    parser = PostedForm()
    parser.feed(html)
    posted: dict[str, list[str]] = {}
    for name, value in parser.data:
        posted.setdefault(name, []).append(value)
    return posted


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
