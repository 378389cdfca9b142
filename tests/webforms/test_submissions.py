"""A visitor's submission through the hosted page or the cross-origin post: the record it
creates, through the services, and the contact it is matched with."""

import pytest
from django.test import Client
from django.urls import reverse

from crm.models import (
    Contact,
    Event,
    FieldType,
    Lead,
    LeadSource,
    Notification,
    SurveyAnswer,
    Ticket,
)
from tests.crm.factories import ContactFactory, CustomFieldFactory
from tests.factories import TeamFactory, UserFactory
from webforms.models import AssignRule, FormKind, WebFormSubmission

from .factories import aged_token, make_form

pytestmark = pytest.mark.django_db


def post(client, webform, data, *, cross_origin=False, query=""):
    name = "webform-post" if cross_origin else "webform-page"
    url = reverse(name, args=[webform.slug]) + query
    return client.post(url, {"_token": aged_token(webform), "email": "visitor@example.com", **data})


def test_a_lead_form_creates_one_lead_with_its_mapping_campaign_and_utm(client):
    CustomFieldFactory(
        record_type="lead", key="budget", label="Budget", field_type=FieldType.NUMBER
    )
    webform = make_form(extra_fields=[{"target": "custom:budget", "required": True}])

    response = post(
        client,
        webform,
        {
            "name": "Marta Silva",
            "email": "marta@silva.example",
            "phone": "+55 11 5555-0000",
            "company_name": "Silva Engenharia",
            "custom__budget": "12000",
            "utm_source": "google",
            "utm_campaign": "spring",
        },
        query="?utm_medium=cpc",
    )

    assert response.status_code == 200, response.content.decode()[:2000]
    lead = Lead.objects.get()
    assert (lead.name, lead.email, lead.phone, lead.company_name) == (
        "Marta Silva",
        "marta@silva.example",
        "+55 11 5555-0000",
        "Silva Engenharia",
    )
    assert lead.source == LeadSource.WEB
    assert lead.custom == {"budget": 12000}
    submission = WebFormSubmission.objects.get()
    assert submission.lead == lead
    assert submission.form.name == "Contact us"  # the campaign
    assert submission.utm == {"utm_source": "google", "utm_medium": "cpc", "utm_campaign": "spring"}
    # The lead response time counts from the moment the visitor sent the form.
    assert lead.created_at == submission.received_at
    assert Event.objects.filter(type="lead.created", record_id=lead.pk).count() == 1


def test_a_duplicate_email_links_the_existing_contact_and_makes_no_new_one(client):
    existing = ContactFactory(email="Marta@Silva.example")
    webform = make_form()

    post(client, webform, {"name": "Marta", "email": "marta@silva.EXAMPLE"})

    assert Contact.objects.count() == 1
    assert WebFormSubmission.objects.get().contact == existing
    assert Lead.objects.count() == 1


def test_a_ticket_form_opens_one_ticket_for_the_existing_contact(client):
    existing = ContactFactory(email="tom@example.com")
    webform = make_form(name="Support", kind=FormKind.TICKET)

    response = post(
        client,
        webform,
        {"name": "Tom", "email": "TOM@example.com", "subject": "Login", "message": "Help me"},
    )

    assert response.status_code == 200
    ticket = Ticket.objects.get()
    assert (ticket.subject, ticket.description, ticket.contact) == ("Login", "Help me", existing)
    assert ticket.channel == "web"
    assert WebFormSubmission.objects.get().ticket == ticket
    assert Contact.objects.count() == 1


def test_a_feedback_form_records_one_answer(client):
    existing = ContactFactory(email="sofia@example.org")
    webform = make_form(name="Feedback", kind=FormKind.FEEDBACK, survey_kind="csat")

    post(client, webform, {"email": "sofia@example.org", "score": "4", "comment": "Quick"})

    answer = SurveyAnswer.objects.get()
    assert (answer.kind, answer.score, answer.comment, answer.contact) == (
        "csat",
        4,
        "Quick",
        existing,
    )
    assert WebFormSubmission.objects.get().survey_answer == answer


def test_the_cross_origin_post_needs_no_csrf_token_but_a_fresh_page_token():
    client = Client(enforce_csrf_checks=True)
    webform = make_form()

    response = post(client, webform, {"name": "Luca"}, cross_origin=True)

    assert response.status_code == 200
    assert Lead.objects.filter(name="Luca").count() == 1


def test_the_hosted_page_keeps_django_csrf():
    client = Client(enforce_csrf_checks=True)
    webform = make_form()

    response = post(client, webform, {"name": "Luca"})

    assert response.status_code == 403
    assert not Lead.objects.exists()


def test_the_same_page_sent_twice_is_one_submission(client):
    webform = make_form()
    data = {"_token": aged_token(webform), "name": "Double click", "email": "d@example.com"}
    url = reverse("webform-page", args=[webform.slug])

    client.post(url, data)
    client.post(url, data)

    assert Lead.objects.count() == 1
    assert WebFormSubmission.objects.count() == 1


def test_invalid_input_is_shown_back_and_nothing_is_written(client):
    webform = make_form()

    response = post(client, webform, {"name": "  ", "email": "not-an-email"})

    assert response.status_code == 400
    assert 'name="_token"' in response.content.decode()
    assert not Lead.objects.exists() and not WebFormSubmission.objects.exists()


def test_owner_rule_assigns_the_lead_and_notifies_the_owner(client):
    ana = UserFactory(username="ana")
    webform = make_form(assign_rule=AssignRule.OWNER, owner=ana)

    post(client, webform, {"name": "Marta"})

    lead = Lead.objects.get()
    assert lead.owner == ana
    assert Notification.objects.filter(recipient=ana, url=reverse("lead-detail", args=[lead.pk]))


def test_round_robin_gives_each_member_a_turn_in_a_stable_order(client):
    first, second = UserFactory(username="first"), UserFactory(username="second")
    team = TeamFactory(name="Inbound", members=[second, first])
    webform = make_form(assign_rule=AssignRule.ROUND_ROBIN, team=team)

    for number in range(4):
        post(client, webform, {"name": f"Lead {number}"})

    owners = list(Lead.objects.order_by("pk").values_list("owner__username", flat=True))
    assert owners == ["first", "second", "first", "second"]
    assert set(Lead.objects.values_list("team", flat=True)) == {team.pk}


def test_left_to_automations_the_lead_has_no_owner(client):
    webform = make_form(assign_rule=AssignRule.AUTOMATIONS)

    post(client, webform, {"name": "Marta"})

    assert Lead.objects.get().owner is None


def test_a_redirect_form_sends_the_visitor_to_its_address(client):
    webform = make_form(redirect_url="https://www.example.com/thanks")

    response = post(client, webform, {"name": "Marta"})

    assert response.status_code == 302
    assert response["Location"] == "https://www.example.com/thanks"


def test_a_closed_form_takes_nothing(client):
    webform = make_form(is_active=False)

    response = post(client, webform, {"name": "Marta"})

    assert response.status_code == 410
    assert not Lead.objects.exists()


def test_the_lead_page_and_its_event_show_the_campaign_and_utm(client, admin_user):
    webform = make_form(name="Spring webinar")
    post(client, webform, {"name": "Marta", "utm_source": "linkedin"})
    lead = Lead.objects.get()
    client.force_login(admin_user)

    page = client.get(reverse("lead-detail", args=[lead.pk])).content.decode()

    assert 'data-testid="lead-web-origin"' in page
    assert "Spring webinar" in page and "utm_source: linkedin" in page
    event = Event.objects.get(type="lead.created", record_id=lead.pk)
    assert event.context["campaign"] == "Spring webinar"
    assert event.context["utm"] == {"utm_source": "linkedin"}


def test_a_custom_field_made_required_after_the_form_was_built_does_not_block_visitors(client):
    """As a public support request: the record starts without the value nobody was asked for
    (crm/custom_fields.py), and the builder asks the admin to add the field."""
    webform = make_form()
    CustomFieldFactory(record_type="lead", key="region", label="Region", required=True)

    response = post(client, webform, {"name": "Marta"})

    assert response.status_code == 200
    assert Lead.objects.get().custom == {}


def test_a_service_refusal_is_shown_on_the_form_with_nothing_written(client):
    CustomFieldFactory(
        record_type="lead", key="budget", label="Budget", field_type=FieldType.NUMBER
    )
    webform = make_form(extra_fields=[{"target": "custom:budget", "required": False}])
    # Required since the form was built: the lead service asks for it with the other values.
    CustomFieldFactory(record_type="lead", key="region", label="Region", required=True)

    response = post(client, webform, {"name": "Marta", "custom__budget": "10"})

    assert response.status_code == 400
    assert not Lead.objects.exists() and not WebFormSubmission.objects.exists()
