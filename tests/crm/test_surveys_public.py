"""Survey links: one answer per token; expired, reused, forged or malformed tokens show a clear
page and write nothing; answers attach to the contact, company and ticket."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from crm import services
from crm.celery import app as celery_app
from crm.models import Event, SurveyAnswer, SurveyInvitation, SurveyKind
from tests.crm.factories import CompanyFactory, ContactFactory


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def ticket(agent):
    ticket = services.ticket_create(
        actor=agent,
        data={"subject": "Slow", "description": "Very slow", "contact": ContactFactory()},
    )
    services.ticket_reply(ticket=ticket, actor=agent, body="Sped it up")
    return services.ticket_resolve(ticket=ticket, actor=agent)


@pytest.fixture
def invitation(ticket):
    return services.survey_invite(kind=SurveyKind.CSAT, ticket=ticket)


def survey_url(token: str) -> str:
    return reverse("survey", args=[token])


def nothing_written(answers_before=0):
    return (
        SurveyAnswer.objects.count() == answers_before
        and not Event.objects.filter(type="survey.answered").exists()
    )


@pytest.mark.django_db
def test_tokens_are_long_random_and_unique(ticket):
    tokens = {
        services.survey_invite(kind=SurveyKind.NPS, contact=ticket.contact).token for _ in range(20)
    }
    assert len(tokens) == 20
    assert all(len(token) >= 43 for token in tokens)  # 256 bits, URL-safe base64


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "scale"), [("nps", range(0, 11)), ("csat", range(1, 6)), ("ces", range(1, 8))]
)
def test_the_page_shows_the_scale_of_its_survey(client, ticket, kind, scale):
    invitation = services.survey_invite(kind=kind, contact=ticket.contact)

    response = client.get(survey_url(invitation.token))

    assert response.status_code == 200
    choices = [int(value) for value, _label in response.context["form"].fields["score"].choices]
    assert choices == list(scale)


@pytest.mark.django_db
def test_an_answer_attaches_to_contact_company_and_ticket(client, invitation, ticket, admin_user):
    response = client.post(survey_url(invitation.token), {"score": "4", "comment": "Quick, thanks"})

    assert response.status_code == 200
    assert 'data-testid="survey-thanks"' in response.content.decode()
    answer = SurveyAnswer.objects.get()
    assert (answer.kind, answer.score, answer.comment) == ("csat", 4, "Quick, thanks")
    assert (answer.contact, answer.company, answer.ticket) == (
        ticket.contact,
        ticket.contact.company,
        ticket,
    )
    invitation.refresh_from_db()
    assert invitation.answer == answer and invitation.answered_at is not None
    assert Event.objects.filter(type="survey.answered", record_id=answer.pk).count() == 1
    client.force_login(admin_user)
    page = client.get(reverse("ticket-detail", args=[ticket.pk]))
    assert page.context["survey_answers"] == [answer]


@pytest.mark.django_db
def test_an_nps_answer_attaches_to_the_contacts_company(client):
    company = CompanyFactory()
    contact = ContactFactory(company=company)
    invitation = services.survey_invite(kind=SurveyKind.NPS, contact=contact)

    client.post(survey_url(invitation.token), {"score": "0"})

    answer = SurveyAnswer.objects.get()
    assert (answer.score, answer.contact, answer.company, answer.ticket) == (
        0,
        contact,
        company,
        None,
    )


@pytest.mark.django_db
def test_a_token_answers_once(client, invitation):
    client.post(survey_url(invitation.token), {"score": "5"})

    again = client.post(survey_url(invitation.token), {"score": "1"})
    page = client.get(survey_url(invitation.token))

    assert again.status_code == page.status_code == 409
    assert 'data-reason="answered"' in again.content.decode()
    assert list(SurveyAnswer.objects.values_list("score", flat=True)) == [5]
    with pytest.raises(services.SurveyTokenError):
        services.survey_invitation_answer(token=invitation.token, score=3)
    assert SurveyAnswer.objects.count() == 1


@pytest.mark.django_db
def test_an_expired_token_shows_a_closed_page_and_writes_nothing(client, invitation):
    SurveyInvitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )

    for response in (
        client.get(survey_url(invitation.token)),
        client.post(survey_url(invitation.token), {"score": "5"}),
    ):
        assert response.status_code == 410
        assert 'data-reason="expired"' in response.content.decode()
    assert nothing_written()
    invitation.refresh_from_db()
    assert invitation.answered_at is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    "token",
    [
        "sample",
        "A" * 43,
        "not a token at all!",
        "x" * 200,
        "<script>alert(1)<script>",
        "%27%20OR%201%3D1",
    ],
)
def test_forged_or_malformed_tokens_show_a_clear_page_and_write_nothing(client, invitation, token):
    get = client.get(f"/surveys/{token}/")
    post = client.post(f"/surveys/{token}/", {"score": "5"})

    for response in (get, post):
        assert response.status_code == 404
        html = response.content.decode()
        assert 'data-reason="unknown"' in html and "<script>alert" not in html
    assert nothing_written()


@pytest.mark.django_db
def test_a_token_one_character_off_is_refused(client, invitation):
    token = invitation.token
    altered = token[:-1] + ("A" if token[-1] != "A" else "B")

    assert client.post(survey_url(altered), {"score": "5"}).status_code == 404
    assert nothing_written()


@pytest.mark.django_db
@pytest.mark.parametrize("score", ["0", "6", "-1", "4.5", "abc", "", "99999999999999999999"])
def test_scores_out_of_range_are_a_form_error(client, invitation, score):
    response = client.post(survey_url(invitation.token), {"score": score})

    assert response.status_code == 400
    assert "score" in response.context["form"].errors
    assert nothing_written()
    invitation.refresh_from_db()
    assert invitation.answered_at is None
    # The token still works after a mistake.
    assert client.post(survey_url(invitation.token), {"score": "5"}).status_code == 200


@pytest.mark.django_db
def test_an_oversized_comment_is_a_form_error(client, invitation):
    response = client.post(survey_url(invitation.token), {"score": "3", "comment": "x" * 5001})

    assert response.status_code == 400
    assert "comment" in response.context["form"].errors
    assert nothing_written()


@pytest.mark.django_db
def test_script_in_a_comment_is_stored_as_text_and_shown_escaped(
    client, invitation, ticket, admin_user
):
    client.post(
        survey_url(invitation.token), {"score": "2", "comment": "<script>alert(1)</script>"}
    )
    client.force_login(admin_user)

    html = client.get(reverse("ticket-detail", args=[ticket.pk])).content.decode()

    assert SurveyAnswer.objects.get().comment == "<script>alert(1)</script>"
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html


@pytest.mark.django_db
def test_a_flood_of_survey_posts_is_throttled(client, invitation, settings):
    settings.CRM_PUBLIC_FORM_RATE = "3/m"
    for _ in range(3):
        client.post(survey_url(invitation.token), {"score": "77"})

    response = client.post(survey_url(invitation.token), {"score": "5"})

    assert response.status_code == 429
    assert nothing_written()


@pytest.mark.django_db
def test_the_resolution_survey_is_one_invitation_per_ticket_and_kind(ticket, settings):
    settings.CRM_SURVEY_CES_ON_RESOLVE = True

    first = services.surveys_for_resolved_ticket(ticket_id=ticket.pk)
    second = services.surveys_for_resolved_ticket(ticket_id=ticket.pk)

    assert [i.kind for i in first] == ["csat", "ces"]
    assert [i.pk for i in first] == [i.pk for i in second]
    assert len(mail.outbox) == 2  # the second run sends nothing again
    assert all(i.email == ticket.contact.email for i in SurveyInvitation.objects.all())


@pytest.mark.django_db
def test_no_survey_for_a_ticket_reopened_before_the_task_ran(ticket, agent):
    services.ticket_reopen(ticket=ticket, actor=agent)

    assert services.surveys_for_resolved_ticket(ticket_id=ticket.pk) == []
    assert not SurveyInvitation.objects.exists() and not mail.outbox


@pytest.mark.django_db
def test_nps_on_demand_for_a_companys_contacts(client, manager, django_capture_on_commit_callbacks):
    company = CompanyFactory(owner=manager)
    contacts = [ContactFactory(company=company) for _ in range(2)]
    ContactFactory(company=company, email="")
    client.force_login(manager)
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("tickets-nps"), {"company": company.pk})
        # Pressing the button again within a week asks nobody twice.
        with django_capture_on_commit_callbacks(execute=True):
            client.post(reverse("tickets-nps"), {"company": company.pk})
    finally:
        celery_app.conf.task_always_eager = eager

    assert response.status_code == 302
    assert sorted(m.to[0] for m in mail.outbox) == sorted(c.email for c in contacts)
    assert SurveyInvitation.objects.filter(kind="nps").count() == 2
    link = next(line for line in mail.outbox[0].body.splitlines() if "/surveys/" in line)
    assert client.get(link.strip().removeprefix("http://localhost:8000")).status_code == 200


@pytest.mark.django_db
def test_nps_page_needs_the_permission(client, rep):
    client.force_login(rep)

    assert client.get(reverse("tickets-nps")).status_code == 403


@pytest.mark.django_db
def test_scheduled_nps_picks_customer_contacts_not_asked_this_quarter(ticket):
    from crm.services.support import nps_due_contact_ids

    customer = CompanyFactory(lifecycle="customer", customer_since=timezone.now())
    asked, due = ContactFactory(company=customer), ContactFactory(company=customer)
    ContactFactory(company=CompanyFactory())  # a prospect: not asked
    services.survey_invite(kind=SurveyKind.NPS, contact=asked)

    assert nps_due_contact_ids() == [due.pk]
