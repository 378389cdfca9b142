"""Every registered admin model × a delete through its admin page, as an admin: nothing is
lost (issue 16, item 9).

After each attempt, every row of the CRM's apps is compared with before: a row that is gone,
other than the one deleted and its own parts (crm/models/common.py), or that lost who owns,
is assigned, or whose team it is, counts in `rows_lost`. A row that goes leaves its
"<type>.deleted" event (else `history_gaps`); a model whose admin offers no delete answers
403 and deletes nothing (else `unauthorised_successes`). A refused delete (history protects
the row, or no delete at all) counts as a bad input cleanly rejected.
"""

from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from crm import models as m
from crm import services
from goals.models import GoalProgress, Scope, Target, TargetProgress, TargetUpdate
from metrics.models import CompanyHealth, DashboardCard, KPIBandOverride, KPISnapshot
from metrics.services import card_add, dashboard_create
from tests.crm import factories as f
from tests.factories import TeamFactory, UserFactory
from tests.goals.factories import make_goal, make_target

pytestmark = pytest.mark.django_db

WATCHED_APPS = ("crm", "metrics", "goals", "automations")
# (model, foreign key): rows that are parts of the row they point at, and go with it.
PARTS = {
    (m.DealStageChange, "deal"),
    (m.TicketMessage, "ticket"),
    (m.Stage, "pipeline"),
    (m.Notification, "recipient"),
    (DashboardCard, "dashboard"),
    (CompanyHealth, "company"),
    (Target, "goal"),
    (TargetUpdate, "target"),
    (GoalProgress, "goal"),
    (TargetProgress, "target"),
}
# Losing one of these hides a row from the people who work on it.
RESPONSIBLE = ("owner", "assignee", "person", "team")
# What the admin's confirmation page says when it will not delete: history protects the row,
# or it would take rows the admin never deletes (a deal's stage changes, a ticket's messages).
REFUSALS = (
    "would require deleting the following protected related objects",
    "have permission to delete the following types of objects",
)
# Rows tried per model: the first ones (linked the most) and the last (the spare one).
TRIES = 3


def watched_models():
    return [
        model
        for app in WATCHED_APPS
        for model in apps.get_app_config(app).get_models()
        if not model._meta.proxy
    ]


def rows_now() -> dict[tuple[str, int], dict]:
    """Every watched row: its foreign key values, by (model label, pk)."""
    state = {}
    for model in watched_models():
        fks = [field for field in model._meta.concrete_fields if field.is_relation]
        names = ["pk", *[field.attname for field in fks]]
        for values in model._default_manager.values_list(*names):
            state[(model._meta.label, values[0])] = dict(zip(names[1:], values[1:], strict=True))
    return state


def parts_of(target: tuple[str, int], before: dict) -> set[tuple[str, int]]:
    """The deleted row and, transitively, the rows that are its parts."""
    part_links = [
        (model._meta.label, model._meta.get_field(name))
        for model, name in sorted(PARTS, key=lambda part: (part[0]._meta.label, part[1]))
    ]
    allowed, grown = {target}, True
    while grown:
        grown = False
        for (label, pk), fks in before.items():
            if (label, pk) in allowed:
                continue
            for part_label, field in part_links:
                parent = (field.related_model._meta.label, fks.get(field.attname))
                if label == part_label and parent in allowed:
                    allowed.add((label, pk))
                    grown = True
                    break
    return allowed


@pytest.fixture
def world(admin_user, manager, rep, agent, sales_team):
    """Rows of every registered model, linked the way the CRM links them, plus spare ones."""
    partners = m.Pipeline.objects.create(name="Partners")
    m.Stage.objects.create(pipeline=partners, name="Intro", probability=10)
    companies = f.CompanyFactory.create_batch(2, owner=rep, team=sales_team)
    contacts = [f.ContactFactory(company=company, owner=rep) for company in companies]
    lead = f.LeadFactory(owner=rep, team=sales_team)
    deals = [
        services.deal_create(
            actor=rep, data={"name": f"Deal {n}", "company": company, "contact": contact}
        )
        for n, (company, contact) in enumerate(zip(companies, contacts, strict=True))
    ]
    m.Activity.objects.create(kind=m.ActivityKind.CALL, subject="Intro", lead=lead, user=rep)
    m.Activity.objects.create(kind=m.ActivityKind.NOTE, subject="Budget", deal=deals[0], user=rep)
    parent = f.TaskFactory(assignee=rep, company=companies[0])
    f.TaskFactory(parent=parent, assignee=rep)
    ticket = f.TicketFactory(contact=contacts[0], company=companies[0], assignee=agent)
    services.ticket_reply(ticket=ticket, actor=agent, body="On it")
    f.SurveyAnswerFactory(contact=contacts[1], company=companies[1])
    f.SubscriptionFactory(company=companies[0])
    f.ExpenseFactory.create_batch(2)
    f.CustomFieldFactory.create_batch(2)
    m.LoginEvent.objects.create(user=rep)
    services.notify(recipients=[rep], title="Hello", kind="goal")
    category = services.category_create(actor=admin_user, name="Billing")
    services.article_create(
        actor=admin_user, data={"title": "Invoices", "body": "Text", "category": category}
    )
    services.survey_invite(kind=m.SurveyKind.CSAT, ticket=ticket)
    m.SLAPolicy.objects.get_or_create(
        priority="low", defaults={"first_response_hours": 24, "resolution_hours": 72}
    )
    # Metrics and goals.
    today = timezone.localdate()
    KPISnapshot.objects.create(
        kpi="win_rate", grain="month", period_start=today.replace(day=1), period_end=today
    )
    KPIBandOverride.objects.create(kpi="win_rate", typical_low=10, typical_high=20)
    CompanyHealth.objects.create(
        company=companies[1],
        score=50,
        engagement=50,
        surveys=50,
        tickets=50,
        purchase_recency=50,
        renewal=50,
        as_of=today,
    )
    board = dashboard_create(owner=manager, data={"name": "Team", "shared_with": sales_team})
    card_add(dashboard=board, actor=manager, data={"kind": "kpi", "key": "win_rate"})
    goal = make_goal(owner=manager, scope=Scope.TEAM, team=sales_team)
    make_target(goal, kind="tasks", tasks=[parent])
    make_goal(owner=manager, scope=Scope.PERSON, person=rep, dates=(today, today + timedelta(1)))
    # Spare rows nothing points at: the walk tries them last, and they may go.
    f.CompanyFactory(name="Spare company", owner=rep, team=sales_team)
    f.ContactFactory(last_name="Spare", owner=rep)
    f.LeadFactory(name="Spare lead", owner=rep)
    TeamFactory(name="Spare team")
    # Someone leaving: what they own would lose its owner, their dashboard would go.
    leaver = UserFactory(username="leaver")
    f.LeadFactory(name="Leaver's lead", owner=leaver)
    dashboard_create(owner=leaver, data={"name": "Leaver's board"})


def admin_delete(client, model, pk):
    path = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_delete", args=[pk])
    try:
        return client.post(path, {"post": "yes"}, follow=False)
    except Exception as error:  # noqa: BLE001 - a crash is what this walk counts
        return error


def test_deleting_through_the_admin_loses_no_row_and_leaves_an_event(
    client, admin_user, world, figures
):
    client.force_login(admin_user)
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    tried = 0
    for model, model_admin in list(admin.site._registry.items()):
        label = model._meta.label
        # Never the admin doing the walk: without them the rest of it would only meet logins.
        rows = model._default_manager.exclude(pk=admin_user.pk) if model is m.User else None
        rows = model._default_manager.all() if rows is None else rows
        pks = list(rows.order_by("pk").values_list("pk", flat=True))
        for pk in dict.fromkeys([*pks[: TRIES - 1], *pks[-1:]]):
            may_delete = model_admin.has_delete_permission(request)
            before = rows_now()
            response = admin_delete(client, model, pk)
            after = rows_now()
            tried += 1
            exists = model._default_manager.filter(pk=pk).exists()
            where = f"{label}#{pk}"
            if isinstance(response, Exception) or response.status_code >= 500:
                figures.tried("bad_inputs")
                figures.add("server_errors", f"{where}: {response!r}")
                continue
            if exists:
                figures.tried("bad_inputs")
                assert "/login" not in response.get("Location", ""), "the walk lost its login"
                refused = response.status_code in (403, 302) or (
                    response.status_code == 200
                    and any(reason in response.content.decode() for reason in REFUSALS)
                )
                if refused:
                    figures.add("clean_rejections")
                else:
                    figures.add("server_errors", f"{where}: unclear answer {response.status_code}")
            elif not may_delete:
                figures.add("unauthorised_successes", f"{where} deleted without a delete page")
            elif (
                label.split(".")[0] in WATCHED_APPS
                and not m.Event.objects.filter(
                    type=f"{model._meta.model_name}.deleted", record_id=pk
                ).exists()
            ):
                figures.add("history_gaps", f"{where} deleted without an event")
            allowed = parts_of((label, pk), before)
            for key in before.keys() - after.keys() - allowed:
                figures.add("rows_lost", f"{key[0]}#{key[1]} went with {where}")
            for key in before.keys() & after.keys():
                for name in RESPONSIBLE:
                    attname = f"{name}_id"
                    if before[key].get(attname) is not None and after[key].get(attname) is None:
                        figures.add("rows_lost", f"{key[0]}#{key[1]} lost its {name} ({where})")
    assert tried > 40
