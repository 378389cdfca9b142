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
