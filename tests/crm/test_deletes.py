"""Deleting keeps history: users are deactivated with their records handed over, records with
history are refused, and every delete that goes leaves an event (issue 16, item 9)."""

from decimal import Decimal

import pytest
from django.contrib.admin import ModelAdmin
from django.contrib.admin.models import LogEntry
from django.core.exceptions import ValidationError
from django.urls import reverse

from crm import models as m
from crm import services
from goals.models import Goal, Scope
from metrics.models import Dashboard, DashboardCard
from metrics.services import card_add, dashboard_create
from tests.crm import factories as f
from tests.factories import TeamFactory, UserFactory
from tests.goals.factories import make_goal, make_target


def url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def staff_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def leaver_rows(rep, agent, sales_team):
    """Everything `rep` owns or is assigned, plus what rep did (which stays rep's)."""
    company = f.CompanyFactory(owner=rep, team=sales_team)
    deal = f.DealFactory(company=company, owner=rep, team=sales_team)
    rows = {
        "company": company,
        "contact": f.ContactFactory(company=company, owner=rep),
        "lead": f.LeadFactory(owner=rep),
        "deal": deal,
        "task": f.TaskFactory(assignee=rep, deal=deal),
        "ticket": f.TicketFactory(assignee=rep, company=company),
        "goal": make_goal(owner=rep, scope=Scope.PERSON, person=rep),
        "dashboard": dashboard_create(owner=rep, data={"name": "My pipeline"}),
        "activity": m.Activity.objects.create(
            kind=m.ActivityKind.CALL, subject="Intro", deal=deal, user=rep
        ),
    }
    return rows


RESPONSIBLE = {
    "company": "owner",
    "contact": "owner",
    "lead": "owner",
    "deal": "owner",
    "task": "assignee",
    "ticket": "assignee",
    "goal": "owner",
    "dashboard": "owner",
}


def holders(rows) -> dict[str, int]:
    result = {}
    for name, field in RESPONSIBLE.items():
        rows[name].refresh_from_db()
        result[name] = getattr(rows[name], f"{field}_id")
    return result


# Users: deactivated and reassigned, never deleted


@pytest.mark.django_db
def test_the_admin_offers_no_way_to_delete_a_user(staff_client, rep):
    assert staff_client.get(url(m.User, "delete", rep.pk)).status_code == 403
    assert staff_client.post(url(m.User, "delete", rep.pk), {"post": "yes"}).status_code == 403

    changelist = staff_client.get(url(m.User, "changelist"))
    actions = dict(changelist.context["action_form"].fields["action"].choices)
    assert "delete_selected" not in actions and "deactivate_and_reassign" in actions
    staff_client.post(
        url(m.User, "changelist"),
        {"action": "delete_selected", "_selected_action": [rep.pk], "post": "yes"},
    )
    assert m.User.objects.filter(pk=rep.pk, is_active=True).exists()


@pytest.mark.django_db
def test_an_active_user_is_not_switched_off_on_the_change_page(staff_client, rep):
    response = staff_client.get(url(m.User, "change", rep.pk))
    assert "is_active" not in response.context["adminform"].form.fields

    rep.is_active = False
    rep.save(update_fields=["is_active"])
    response = staff_client.get(url(m.User, "change", rep.pk))
    assert "is_active" in response.context["adminform"].form.fields


@pytest.mark.django_db
def test_deactivate_and_reassign_hands_every_record_over_in_one_step(
    staff_client, admin_user, rep, teammate, leaver_rows
):
    retired = UserFactory(username="gone", is_active=False)
    changelist = url(m.User, "changelist")
    picked = {"action": "deactivate_and_reassign", "_selected_action": [rep.pk]}

    confirm = staff_client.post(changelist, picked)
    assert confirm.status_code == 200
    choices = set(confirm.context["form"].fields["reassign_to"].queryset)
    assert teammate in choices and rep not in choices and retired not in choices
    assert holders(leaver_rows) == dict.fromkeys(RESPONSIBLE, rep.pk)

    response = staff_client.post(changelist, {**picked, "apply": "1", "reassign_to": teammate.pk})

    assert response.status_code == 302
    rep.refresh_from_db()
    assert not rep.is_active
    assert holders(leaver_rows) == dict.fromkeys(RESPONSIBLE, teammate.pk)
    assert Dashboard.objects.filter(name="My pipeline", owner=teammate).exists()
    # What rep did stays rep's: authorship is history, and so is whose goal it is.
    leaver_rows["activity"].refresh_from_db()
    assert leaver_rows["activity"].user_id == rep.pk
    assert leaver_rows["goal"].person_id == rep.pk
    for name, field in RESPONSIBLE.items():
        event = m.Event.objects.get(
            record_type=name, record_id=leaver_rows[name].pk, actor=admin_user
        )
        assert (event.type, event.changes) == (f"{name}.updated", {field: [rep.pk, teammate.pk]})
    event = m.Event.objects.get(type="user.deactivated", record_id=rep.pk)
    assert event.actor == admin_user
    assert event.changes["is_active"] == [True, False]
    assert event.changes["reassigned_to"] == [None, teammate.pk]


@pytest.mark.django_db
def test_the_successor_must_be_another_active_user(staff_client, rep, leaver_rows):
    retired = UserFactory(username="gone", is_active=False)
    events = m.Event.objects.count()

    response = staff_client.post(
        url(m.User, "changelist"),
        {
            "action": "deactivate_and_reassign",
            "_selected_action": [rep.pk],
            "apply": "1",
            "reassign_to": retired.pk,
        },
    )

    assert response.status_code == 200
    assert "reassign_to" in response.context["form"].errors
    rep.refresh_from_db()
    assert rep.is_active
    assert holders(leaver_rows) == dict.fromkeys(RESPONSIBLE, rep.pk)
    assert m.Event.objects.count() == events


@pytest.mark.django_db
@pytest.mark.parametrize("case", ["to themselves", "to an inactive user", "by themselves"])
def test_deactivate_user_refuses_and_writes_nothing(case, rep, teammate, admin_user, leaver_rows):
    successor, by = teammate, admin_user
    if case == "to themselves":
        successor = rep
    elif case == "to an inactive user":
        successor = UserFactory(username="gone", is_active=False)
    else:
        by = rep
    events = m.Event.objects.count()

    with pytest.raises(ValidationError):
        services.deactivate_user(rep, reassign_to=successor, by=by)

    rep.refresh_from_db()
    assert rep.is_active
    assert holders(leaver_rows) == dict.fromkeys(RESPONSIBLE, rep.pk)
    assert m.Event.objects.count() == events


@pytest.mark.django_db
def test_a_user_who_owns_records_cannot_be_deleted_from_code_either(rep, leaver_rows):
    with pytest.raises(Exception, match="protected"):
        rep.delete()
    assert m.Company.objects.filter(owner=rep).exists()


# Companies and other records: history is protected


@pytest.fixture
def busy_company(rep):
    company = f.CompanyFactory(name="Acme", owner=rep)
    f.DealFactory(company=company, owner=rep)
    f.SubscriptionFactory(company=company)
    m.Activity.objects.create(kind=m.ActivityKind.MEETING, subject="Kick-off", company=company)
    f.TaskFactory(company=company, assignee=rep)
    return company


def related_counts(company):
    return {
        "deals": company.deals.count(),
        "subscriptions": company.subscriptions.count(),
        "activities": company.activities.count(),
        "tasks": company.tasks.count(),
    }


@pytest.mark.django_db
def test_deleting_a_company_with_history_is_refused_in_the_admin(staff_client, busy_company):
    before = related_counts(busy_company)
    events, log = m.Event.objects.count(), LogEntry.objects.count()

    page = staff_client.get(url(m.Company, "delete", busy_company.pk))
    response = staff_client.post(url(m.Company, "delete", busy_company.pk), {"post": "yes"})

    for shown in (page, response):
        assert shown.status_code == 200
        assert "would require deleting the following protected related objects" in (
            shown.content.decode()
        )
        assert "Kick-off" in shown.content.decode()
    assert m.Company.objects.filter(pk=busy_company.pk).exists()
    assert related_counts(busy_company) == before
    assert (m.Event.objects.count(), LogEntry.objects.count()) == (events, log)


@pytest.mark.django_db
def test_bulk_deleting_companies_with_history_is_refused(staff_client, busy_company):
    empty = f.CompanyFactory(name="Empty")
    events = m.Event.objects.count()

    response = staff_client.post(
        url(m.Company, "changelist"),
        {
            "action": "delete_selected",
            "_selected_action": [busy_company.pk, empty.pk],
            "post": "yes",
        },
    )

    assert response.status_code == 200
    assert "protected related objects" in response.content.decode()
    assert m.Company.objects.filter(pk__in=[busy_company.pk, empty.pk]).count() == 2
    assert m.Event.objects.count() == events


@pytest.mark.django_db
def test_the_service_refuses_with_a_message_naming_what_points_at_it(rep, busy_company):
    events = m.Event.objects.count()

    with pytest.raises(services.RecordInUse) as refused:
        services.record_delete(busy_company, actor=rep)

    message = " ".join(refused.value.messages)
    assert "Company “Acme” cannot be deleted" in message
    for part in ("1 activity", "1 deal", "1 subscription", "1 task"):
        assert part in message
    assert m.Company.objects.filter(pk=busy_company.pk).exists()
    assert busy_company.pk is not None
    assert related_counts(busy_company) == dict.fromkeys(related_counts(busy_company), 1)
    assert m.Event.objects.count() == events


@pytest.mark.django_db
def test_a_row_linked_while_the_confirmation_was_open_is_refused_cleanly(
    staff_client, busy_company, monkeypatch
):
    # As if the deal had been added after the confirmation page checked the company.
    monkeypatch.setattr(
        ModelAdmin, "get_deleted_objects", lambda self, objs, request: ([], {}, set(), [])
    )
    events = m.Event.objects.count()

    response = staff_client.post(url(m.Company, "delete", busy_company.pk), {"post": "yes"})

    assert response.status_code == 302
    assert m.Company.objects.filter(pk=busy_company.pk).exists()
    assert m.Event.objects.count() == events
    shown = [str(message) for message in response.wsgi_request._messages]
    assert any("cannot be deleted" in message for message in shown)


@pytest.mark.django_db
@pytest.mark.parametrize("child", ["contact", "survey answer", "ticket", "lead conversion"])
def test_other_history_protects_a_company_too(rep, child):
    company = f.CompanyFactory(owner=rep)
    if child == "contact":
        f.ContactFactory(company=company)
    elif child == "survey answer":
        f.SurveyAnswerFactory(company=company)
    elif child == "ticket":
        f.TicketFactory(company=company)
    else:
        f.LeadFactory(converted_company=company)

    with pytest.raises(services.RecordInUse):
        services.record_delete(company, actor=rep)
    assert m.Company.objects.filter(pk=company.pk).exists()


@pytest.mark.django_db
def test_an_empty_company_is_deleted_with_an_event(staff_client, admin_user, rep):
    company = f.CompanyFactory(name="Typo Ltd", domain="typo.example", owner=rep)
    pk = company.pk

    response = staff_client.post(url(m.Company, "delete", pk), {"post": "yes"})

    assert response.status_code == 302
    assert not m.Company.objects.filter(pk=pk).exists()
    event = m.Event.objects.get(record_type="company", record_id=pk)
    assert (event.type, event.actor) == ("company.deleted", admin_user)
    assert event.changes["_name"] == ["Typo Ltd", None]
    assert event.changes["name"] == ["Typo Ltd", None]
    assert event.changes["domain"] == ["typo.example", None]
    assert event.changes["owner"] == [rep.pk, None]


# Every delete that remains leaves an event


@pytest.mark.django_db
def test_a_deal_goes_with_its_own_stage_changes_and_the_event_counts_them(admin_user, rep):
    deal = services.deal_create(
        actor=rep, data={"name": "Mistake"}, pipeline=f.default_pipeline(), stage=None
    )
    pk = deal.pk

    services.record_delete(deal, actor=admin_user)

    event = m.Event.objects.get(type="deal.deleted", record_id=pk)
    assert event.changes["_removed_with"] == [{"crm.DealStageChange": 1}, None]
    assert not m.DealStageChange.objects.filter(deal_id=pk).exists()


@pytest.mark.django_db
def test_the_admin_bulk_action_writes_one_event_per_row(staff_client, admin_user, rep):
    leads = f.LeadFactory.create_batch(2, owner=rep)
    ids = [lead.pk for lead in leads]

    response = staff_client.post(
        url(m.Lead, "changelist"),
        {"action": "delete_selected", "_selected_action": ids, "post": "yes"},
    )

    assert response.status_code == 302
    assert not m.Lead.objects.filter(pk__in=ids).exists()
    events = m.Event.objects.filter(type="lead.deleted", actor=admin_user)
    assert sorted(events.values_list("record_id", flat=True)) == sorted(ids)


@pytest.mark.django_db
def test_a_stage_removed_inline_from_its_pipeline_writes_an_event(staff_client, admin_user):
    pipeline = m.Pipeline.objects.create(name="Partners")
    stage = m.Stage.objects.create(pipeline=pipeline, name="Intro", probability=10)
    data = {
        "name": "Partners",
        "order": "0",
        "stages-TOTAL_FORMS": "1",
        "stages-INITIAL_FORMS": "1",
        "stages-MIN_NUM_FORMS": "0",
        "stages-MAX_NUM_FORMS": "1000",
        "stages-0-id": str(stage.pk),
        "stages-0-pipeline": str(pipeline.pk),
        "stages-0-name": "Intro",
        "stages-0-order": "0",
        "stages-0-probability": "10",
        "stages-0-outcome": "open",
        "stages-0-DELETE": "on",
    }

    response = staff_client.post(url(m.Pipeline, "change", pipeline.pk), data)

    assert response.status_code == 302
    assert not m.Stage.objects.filter(pk=stage.pk).exists()
    event = m.Event.objects.get(type="stage.deleted", record_id=stage.pk)
    assert event.actor == admin_user and event.changes["name"] == ["Intro", None]


@pytest.mark.django_db
def test_a_team_with_records_or_goals_is_refused_an_empty_one_goes(manager, rep):
    team = TeamFactory(name="Sales", members=[rep])
    f.LeadFactory(owner=rep, team=team)
    with pytest.raises(services.RecordInUse):
        services.record_delete(team, actor=manager)

    goal_team = TeamFactory(name="Partners")
    make_goal(owner=manager, scope=Scope.TEAM, team=goal_team)
    with pytest.raises(services.RecordInUse):
        services.record_delete(goal_team, actor=manager)

    empty = TeamFactory(name="Empty", members=[rep])
    pk = empty.pk
    services.record_delete(empty, actor=manager)
    event = m.Event.objects.get(type="team.deleted", record_id=pk)
    assert event.changes["members"] == [[rep.pk], None]


@pytest.mark.django_db
def test_deleting_a_dashboard_or_a_card_on_its_page_writes_an_event(client, manager):
    board = dashboard_create(owner=manager, data={"name": "Mine"})
    card = card_add(dashboard=board, actor=manager, data={"kind": "kpi", "key": "win_rate"})
    client.force_login(manager)

    removed = client.post(reverse("dashboard-card-remove", args=[board.pk, card.pk]))
    deleted = client.post(reverse("dashboard-delete", args=[board.pk]))

    assert removed.status_code in (200, 302) and deleted.status_code == 302
    assert not DashboardCard.objects.filter(pk=card.pk).exists()
    assert not Dashboard.objects.filter(pk=board.pk).exists()
    types = set(m.Event.objects.filter(actor=manager).values_list("type", "record_id"))
    assert {("dashboardcard.deleted", card.pk), ("dashboard.deleted", board.pk)} <= types


@pytest.mark.django_db
def test_deleting_a_goal_or_a_target_on_its_page_writes_an_event(client, manager):
    goal = make_goal(owner=manager, name="Q goal")
    target = make_target(goal, target_value=Decimal("10"))
    other = make_target(goal, name="Kept", target_value=Decimal("5"))
    client.force_login(manager)

    assert client.post(reverse("target-delete", args=[target.pk])).status_code == 302
    assert client.post(reverse("goal-delete", args=[goal.pk])).status_code == 302

    assert not Goal.objects.filter(pk=goal.pk).exists()
    target_event = m.Event.objects.get(type="target.deleted", record_id=target.pk)
    goal_event = m.Event.objects.get(type="goal.deleted", record_id=goal.pk)
    assert target_event.actor == goal_event.actor == manager
    assert goal_event.changes["_name"] == ["Q goal", None]
    assert goal_event.changes["_removed_with"][0]["goals.Target"] == 1
    assert other.pk  # removed with its goal, counted above
