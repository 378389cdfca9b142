"""Forms and pages as their users found them (issue 15, items 11–13): knowledge-base links in
ticket messages, required custom fields, and the admin's options editor."""

import re
from html.parser import HTMLParser

import pytest
from django.core import mail
from django.core.cache import cache
from django.urls import reverse

from crm import services
from crm.models import Company, CustomField, Deal, DealStageChange, FieldType, Lead, Ticket
from crm.services.support import customer_link_token
from crm.ticket_text import message_html, message_plain
from tests.crm.factories import (
    ContactFactory,
    CustomFieldFactory,
    LeadFactory,
    stage_named,
)

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}
ARTICLE_URL = "http://localhost:8000/help/reset-your-password/"
LINKED = f"Hello, this should help: [Reset your password]({ARTICLE_URL})\nRegards"


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


# Item 11: knowledge-base links in ticket messages


@pytest.fixture
def ticket(agent):
    return services.ticket_create(
        actor=agent,
        data={"subject": "Locked out", "description": "Help", "contact": ContactFactory()},
    )


def message_bodies(html: str) -> list[str]:
    return re.findall(r'<div class="message-body">(.*?)</div>', html, re.S)


def test_a_knowledge_base_link_in_a_reply_is_a_link_for_the_agent_the_customer_and_the_email(
    client, agent, ticket, eager_tasks, django_capture_on_commit_callbacks
):
    client.force_login(agent)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("ticket-reply", args=[ticket.pk]), {"body": LINKED})

    link = f'<a href="{ARTICLE_URL}" rel="noopener noreferrer nofollow">Reset your password</a>'
    agent_page = client.get(reverse("ticket-detail", args=[ticket.pk])).content.decode()
    client.logout()
    token = customer_link_token(ticket)
    customer_page = client.get(reverse("support-ticket", args=[token])).content.decode()
    for page in (agent_page, customer_page):
        [reply] = [body for body in message_bodies(page) if "Reset" in body]
        assert link in reply
        assert "](" not in reply and "Regards" in reply
    [email] = mail.outbox
    assert f"Reset your password <{ARTICLE_URL}>" in email.body
    assert "](" not in email.body
    [(html, kind)] = email.alternatives
    assert kind == "text/html" and link in html


class Markup(HTMLParser):
    """The tags, attributes and link addresses a browser would see."""

    def __init__(self, html: str):
        super().__init__()
        self.tags, self.hrefs = set(), []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.add((tag, tuple(sorted(name for name, _value in attrs))))
        self.hrefs += [value for name, value in attrs if name == "href"]


@pytest.mark.parametrize(
    "body",
    [
        "<script>alert(1)</script>",
        '<img src="x" onerror="alert(1)">',
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "[click]( javascript:alert(1))",
        "[click](data:text/html;base64,PHNjcmlwdD4=)",
        "[click](//evil.example/x)",
        '[x](https://ok.example/" onmouseover="alert(1))',
        '[<img src=x onerror="alert(1)">](https://ok.example/)',
        '<a href="https://ok.example/" hx-get="/admin/">x</a>',
        "<p style='position:fixed'>x</p>",
        "**bold** # heading <b>b</b>",
    ],
)
def test_only_links_become_html_in_a_message(body):
    markup = Markup(message_html(f"Before {body} after"))

    assert {tag for tag, _attrs in markup.tags} <= {"p", "a", "br"}
    assert {attrs for tag, attrs in markup.tags if tag == "a"} <= {("href", "rel")}
    assert all(href.startswith("https://ok.example/") for href in markup.hrefs)


def test_message_links_and_addresses():
    html = message_html(
        "See [Reset \\[beta\\]](https://example.com/a_(b)) or https://example.com/x.\n\nBye"
    )

    assert '<a href="https://example.com/a_(b)"' in html and ">Reset [beta]</a>" in html
    assert '<a href="https://example.com/x"' in html
    assert html.count("<p>") == 2
    assert message_plain("[Guide](https://example.com/g) then [bad](javascript:x)") == (
        "Guide <https://example.com/g> then [bad](javascript:x)"
    )


def test_hostile_messages_are_text_on_both_ticket_pages(client, agent, ticket):
    payload = '<img src=x onerror="alert(1)"> [go](javascript:alert(2)) <script>x()</script>'
    token = customer_link_token(ticket)
    client.post(reverse("support-ticket", args=[token]), {"body": payload})
    client.force_login(agent)
    client.post(reverse("ticket-reply", args=[ticket.pk]), {"body": payload})

    agent_page = client.get(reverse("ticket-detail", args=[ticket.pk])).content.decode()
    client.logout()
    customer_page = client.get(reverse("support-ticket", args=[token])).content.decode()
    for page in (agent_page, customer_page):
        bodies = [body for body in message_bodies(page) if "alert" in body]
        assert len(bodies) == 2
        for body in bodies:
            assert "<img" not in body and "<script" not in body and "<a" not in body
            assert "&lt;img" in body


# Item 12: required custom fields


def required(record_type, key="budget", label="Budget", **kwargs):
    return CustomFieldFactory(
        record_type=record_type, key=key, label=label, required=True, **kwargs
    )


def asterisked(html: str, name: str) -> bool:
    label = re.search(rf'<label[^>]*for="id_{name}"[^>]*>(.*?)</label>', html, re.S)
    assert label, name
    return 'class="text-danger"' in label.group(1) and "*" in label.group(1)


@pytest.mark.parametrize(
    ("record_type", "page"),
    [
        ("lead", "lead-create"),
        ("contact", "contact-create"),
        ("company", "company-create"),
        ("deal", "deal-create"),
        ("task", "task-new"),
    ],
)
def test_a_required_custom_field_has_an_asterisk_on_the_new_record_form(
    client, rep, sales_team, record_type, page
):
    required(record_type)
    CustomFieldFactory(record_type=record_type, key="notes_extra", label="Extra")
    client.force_login(rep)

    html = client.get(reverse(page)).content.decode()

    assert asterisked(html, "custom__budget")
    assert not asterisked(html, "custom__notes_extra")


def lead_data(**overrides) -> dict:
    return {
        "name": "Jane Roe",
        "email": "jane@roe.example",
        "phone": "",
        "company_name": "Roe Inc",
        "source": "web",
        "score": "40",
        "owner": "",
        "team": "",
        **overrides,
    }


def test_a_field_made_required_later_does_not_block_editing_older_records(client, rep, sales_team):
    lead = LeadFactory(name="Jane Roe", owner=rep, team=sales_team)
    required("lead")
    client.force_login(rep)
    edit = reverse("lead-edit", args=[lead.pk])

    page = client.get(edit).content.decode()
    response = client.post(edit, lead_data(owner=rep.pk, team=sales_team.pk, score="55"))

    assert "Required on new records" in page and not asterisked(page, "custom__budget")
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.score == 55 and "budget" not in lead.custom


def test_a_required_value_a_record_has_cannot_be_cleared(client, rep, sales_team):
    required("lead")
    lead = services.record_create(
        Lead,
        actor=rep,
        data={"name": "Jane Roe", "owner": rep, "team": sales_team, "custom": {"budget": "10k"}},
    )
    client.force_login(rep)
    edit = reverse("lead-edit", args=[lead.pk])

    assert asterisked(client.get(edit).content.decode(), "custom__budget")
    response = client.post(edit, lead_data(owner=rep.pk, team=sales_team.pk, custom__budget=""))

    assert response.status_code == 400
    assert response.context["form"].errors["custom__budget"] == ["This field is required."]
    lead.refresh_from_db()
    assert lead.custom == {"budget": "10k"}


def test_a_new_record_still_needs_its_required_values(client, rep, sales_team):
    required("lead")
    client.force_login(rep)

    response = client.post(reverse("lead-create"), lead_data())

    assert response.status_code == 400
    assert response.context["form"].errors["custom__budget"] == ["This field is required."]
    assert not Lead.objects.exists()


def test_the_admin_edits_an_older_record_without_a_value_made_required_later(client, admin_user):
    company = services.record_create(Company, actor=admin_user, data={"name": "Acme"})
    required("company")
    client.force_login(admin_user)
    url = reverse("admin:crm_company_change", args=[company.pk])

    response = client.post(url, {"name": "Acme Corp", "custom": "{}", "size_band": ""})

    assert response.status_code == 302, response.context["adminform"].form.errors
    company.refresh_from_db()
    assert company.name == "Acme Corp"


def test_records_the_crm_makes_itself_are_not_refused_for_values_nobody_was_asked(client):
    required("contact")
    required("ticket", key="product", label="Product")

    response = client.post(
        reverse("support-contact"),
        {"name": "Rosa", "email": "rosa@example.org", "subject": "Export", "message": "Broken"},
    )

    assert response.status_code == 302
    assert Ticket.objects.get().custom == {}


@pytest.fixture
def old_deal(rep, sales_team):
    """A deal created before its "Budget" field was made required."""
    deal = services.deal_create(actor=rep, data={"name": "Acme", "amount": 100})
    required("deal")
    return deal


def move(client, deal, stage_name, **extra):
    data = {"stage": stage_named(stage_name).pk, **extra}
    return client.post(reverse("deal-move", args=[deal.pk]), data, **JSON)


def test_a_board_move_to_a_later_stage_needs_the_required_values(client, rep, old_deal):
    client.force_login(rep)

    refused = move(client, old_deal, "Proposal")
    won = move(client, old_deal, "Won")

    assert refused.status_code == won.status_code == 400
    assert refused.json() == {
        "ok": False,
        "errors": ["Fill in Budget before moving the deal to “Proposal”."],
    }
    old_deal.refresh_from_db()
    assert old_deal.stage == stage_named("Prospecting")
    assert DealStageChange.objects.filter(deal=old_deal).count() == 1
    # The board shows the refusal it is sent (static/js/board.js: showMessage(data.errors)).
    assert 'id="board-messages"' in client.get(reverse("deal-board")).content.decode()

    services.record_update(old_deal, actor=rep, data={"custom": {"budget": "10k"}})
    assert move(client, old_deal, "Proposal").status_code == 200


def test_losing_a_deal_or_moving_it_back_to_the_first_stage_needs_no_values(
    client, rep, sales_team
):
    deal = services.deal_create(
        actor=rep, data={"name": "Acme", "amount": 100}, stage=stage_named("Proposal")
    )
    required("deal")
    client.force_login(rep)

    assert move(client, deal, "Prospecting").status_code == 200
    assert move(client, deal, "Lost", lost_reason="No budget").status_code == 200
    deal.refresh_from_db()
    assert deal.stage == stage_named("Lost")


def test_the_deal_page_says_which_values_a_move_needs(client, rep, old_deal):
    client.force_login(rep)

    page = client.get(reverse("deal-detail", args=[old_deal.pk])).content.decode()
    refused = client.post(
        reverse("deal-move", args=[old_deal.pk]), {"stage": stage_named("Proposal").pk}
    )

    assert "To move this deal on, fill in: Budget" in page
    assert refused.status_code == 400
    assert "Fill in Budget before moving the deal to “Proposal”." in refused.content.decode()
    assert Deal.objects.get(pk=old_deal.pk).stage == stage_named("Prospecting")


# Item 13: custom-field options in the admin, one per line


def definition_data(**overrides) -> dict:
    return {
        "record_type": "deal",
        "key": "tier",
        "label": "Tier",
        "field_type": FieldType.SELECT,
        "help_text": "",
        "choices": "Gold\nSilver\nBronze\n",
        "order": "0",
        "is_active": "on",
        **overrides,
    }


def test_the_admin_types_options_one_per_line_and_reorders_them_by_moving_lines(client, admin_user):
    client.force_login(admin_user)
    add = reverse("admin:crm_customfield_add")

    page = client.get(add).content.decode()
    created = client.post(add, definition_data())
    field = CustomField.objects.get(key="tier")
    change = reverse("admin:crm_customfield_change", args=[field.pk])
    shown = client.get(change).content.decode()
    reordered = client.post(change, definition_data(choices="Bronze\r\nGold\r\nSilver"))

    assert re.search(r'<textarea[^>]*name="choices"', page)
    assert "One option per line" in page
    assert created.status_code == 302
    assert re.search(r'<textarea[^>]*name="choices"[^>]*>\nGold\nSilver\nBronze</textarea>', shown)
    assert reordered.status_code == 302
    field.refresh_from_db()
    assert field.choices == ["Bronze", "Gold", "Silver"]


@pytest.mark.parametrize(
    ("choices", "message"),
    [
        ("Gold\n\nSilver", "Line 2 is empty"),
        ("Gold\n   \nSilver", "Line 2 is empty"),
        ("Gold\nSilver\nGold", "“Gold” is listed twice."),
        ('["Gold", "Silver"]\n["Gold", "Silver"]', "is listed twice"),
        ("", "A select field needs at least one option."),
        ("x" * 101, "longer than 100 characters"),
        ("\n".join(f"o{n}" for n in range(201)), "at most 200 options"),
    ],
)
def test_bad_options_are_refused_and_nothing_is_written(client, admin_user, choices, message):
    client.force_login(admin_user)

    response = client.post(reverse("admin:crm_customfield_add"), definition_data(choices=choices))

    assert response.status_code == 200
    assert message in " ".join(response.context["adminform"].form.errors["choices"])
    assert not CustomField.objects.filter(key="tier").exists()


def test_options_on_a_field_that_is_not_a_select_are_refused(client, admin_user):
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:crm_customfield_add"),
        definition_data(field_type=FieldType.TEXT, choices="Gold"),
    )

    assert response.status_code == 200
    assert not CustomField.objects.filter(key="tier").exists()
    assert (
        client.post(
            reverse("admin:crm_customfield_add"),
            definition_data(field_type=FieldType.TEXT, choices=""),
        ).status_code
        == 302
    )
    assert CustomField.objects.get(key="tier").choices == []
