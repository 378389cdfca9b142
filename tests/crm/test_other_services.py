import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from crm import services
from crm.models import Company, Event, SurveyAnswer, TaskStatus
from tests.crm.factories import CompanyFactory, ContactFactory, TaskFactory, TicketFactory


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_event_outside_a_transaction_is_refused(rep):
    company = CompanyFactory()
    with pytest.raises(RuntimeError):
        services.event_record(type="company.touched", instance=company, actor=rep)


@pytest.mark.django_db
def test_an_event_carries_record_changes_actor_and_time(rep):
    with transaction.atomic():
        company = services.record_create(
            Company, actor=rep, data={"name": "Globex", "domain": "GLOBEX.example"}
        )

    event = Event.objects.get()
    assert (event.type, event.record_type, event.record_id, event.actor) == (
        "company.created",
        "company",
        company.pk,
        rep,
    )
    assert event.changes["name"] == [None, "Globex"]
    assert event.occurred_at is not None and event.dispatched_at is None
    assert company.domain == "globex.example"


@pytest.mark.django_db
def test_new_records_belong_to_their_creator_and_their_team(rep, sales_team):
    company = services.record_create(Company, actor=rep, data={"name": "Initech"})
    assert (company.owner, company.team) == (rep, sales_team)


@pytest.mark.django_db
def test_bad_input_is_refused_field_by_field_and_nothing_is_written(rep):
    with pytest.raises(ValidationError) as refused:
        services.record_create(Company, actor=rep, data={"name": "", "industry": "mining"})

    assert set(refused.value.message_dict) == {"name", "industry"}
    assert Company.objects.count() == 0 and Event.objects.count() == 0


@pytest.mark.django_db
def test_unknown_fields_are_refused(rep):
    with pytest.raises(ValidationError) as refused:
        services.record_create(Company, actor=rep, data={"name": "X", "lifecycle": "customer"})
    assert "lifecycle" in refused.value.message_dict


@pytest.mark.django_db
def test_completing_and_reopening_a_task_keeps_the_completion_time_true(rep):
    task = TaskFactory(assignee=rep)

    services.task_complete(task=task, actor=rep)
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE and task.completed_at is not None

    services.task_reopen(task=task, actor=rep)
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN and task.completed_at is None
    assert list(Event.objects.values_list("type", flat=True)) == ["task.completed", "task.reopened"]


@pytest.mark.django_db
def test_a_task_cannot_become_its_own_ancestor(rep):
    parent = services.task_create(actor=rep, data={"title": "Onboarding"})
    child = services.task_create(actor=rep, data={"title": "Kick-off call", "parent": parent})
    assert list(parent.subtasks.all()) == [child]

    with pytest.raises(services.InvalidTransition):
        services.task_update(task=parent, actor=rep, data={"parent": child})
    parent.refresh_from_db()
    assert parent.parent is None


@pytest.mark.django_db
def test_a_survey_answer_attaches_to_contact_company_and_ticket():
    ticket = TicketFactory()

    answer = services.survey_answer_record(kind="csat", score=4, ticket=ticket)

    assert (answer.contact, answer.company, answer.ticket) == (
        ticket.contact,
        ticket.company,
        ticket,
    )
    assert Event.objects.get().type == "survey.answered"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "kind, score",
    [("nps", 11), ("nps", -1), ("csat", 0), ("csat", 6), ("ces", 8), ("ces", True), ("unknown", 3)],
)
def test_a_survey_score_outside_its_scale_is_refused(kind, score):
    with pytest.raises(services.InvalidTransition):
        services.survey_answer_record(kind=kind, score=score, contact=ContactFactory())
    assert SurveyAnswer.objects.count() == 0 and Event.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "kind, score", [("nps", 0), ("nps", 10), ("csat", 1), ("csat", 5), ("ces", 1), ("ces", 7)]
)
def test_every_score_on_the_scale_is_accepted(kind, score):
    assert services.survey_answer_record(kind=kind, score=score).score == score
