"""Every page that writes × every role: a write by a role without the permission the page
needs is refused (403/404) and writes nothing; a page that takes no writes answers 405.

The permissions are one table (crm.access.ROUTE_PERMISSIONS), applied before any view by
crm.middleware.RoutePermissionMiddleware. This walk holds the table to the URL confs: a
route it names must exist, and every other route must refuse a write, so a new view that
writes cannot go unlisted. The records in the URLs are real and visible to each role, so a
refusal comes from the permission, not from a missing record. The API (DRF's own permission
classes) and the admin (model permissions) are outside the table and outside this walk.
"""

from dataclasses import dataclass

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission
from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from api.services import api_token_create
from crm import access, services
from crm.models import ArticleStatus, Role
from tests.crm.factories import (
    CompanyFactory,
    ContactFactory,
    CustomFieldFactory,
    DealFactory,
    LeadFactory,
    TaskFactory,
    TicketFactory,
)
from tests.factories import TeamFactory, UserFactory
from tests.metrics.alert_factories import make_alert
from webhooks.models import Subscription as WebhookSubscription

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "rep", "agent", "manager", "admin")
# The apps whose rows a refused write must leave alone.
WATCHED_APPS = ("crm", "metrics", "goals", "automations")
RECORD_KINDS = ("lead", "contact", "company", "deal", "ticket")
LOGIN = reverse("login")


@dataclass(frozen=True)
class Route:
    name: str | None
    template: str
    login_required: bool


def page_routes() -> list[Route]:
    """Every URL pattern outside the admin and the API, includes walked recursively."""
    found = []

    def walk(patterns, prefix):
        for entry in patterns:
            template = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                if entry.namespace != "admin":
                    walk(entry.url_patterns, template)
            elif isinstance(entry, URLPattern) and not template.startswith(("api/", "admin/")):
                login_required = getattr(entry.callback, "login_required", True)
                found.append(Route(entry.name, template, login_required))

    walk(get_resolver().url_patterns, "")
    return found


# --- the table matches the URL confs ----------------------------------------------------------


def test_every_listed_route_exists_once_and_names_real_permissions():
    names = {route.name for route in page_routes()}
    listed = [*access.ROUTE_PERMISSIONS, *access.OWN_ROUTES, *access.PUBLIC_ROUTES]

    assert set(listed) <= names, set(listed) - names
    assert len(listed) == len(set(listed)), "a route is in two lists"
    assert access.READ_ON_GET <= set(access.ROUTE_PERMISSIONS)
    known = {
        f"{app}.{codename}"
        for app, codename in Permission.objects.values_list("content_type__app_label", "codename")
    }
    needed = {p for permissions in access.ROUTE_PERMISSIONS.values() for p in permissions}
    assert needed <= known, needed - known


def test_only_the_public_list_takes_writes_without_a_login():
    by_name = {route.name: route for route in page_routes()}

    for name in access.PUBLIC_ROUTES:
        assert not by_name[name].login_required, name
    for name in [*access.ROUTE_PERMISSIONS, *access.OWN_ROUTES]:
        assert by_name[name].login_required, name


# --- the walk ---------------------------------------------------------------------------------


@dataclass
class World:
    users: dict
    objects: dict  # argument source name -> object


def build_world() -> World:
    """The rep, the agent and the manager in one team, and one record of each kind that team
    owns: each role sees every record below (checked), so only permissions can refuse."""
    from goals.models import Scope
    from metrics.models import Dashboard, DashboardCard
    from tests.automations.factories import make_rule
    from tests.goals.factories import make_goal, make_target

    rep = UserFactory(username="ana", role=Role.SALES_REP)
    agent = UserFactory(username="bruno", role=Role.SUPPORT_AGENT)
    manager = UserFactory(username="carla", role=Role.MANAGER)
    admin = UserFactory(username="diego", role=Role.ADMIN, is_staff=True, is_superuser=True)
    team = TeamFactory(name="Sales", manager=manager, members=[rep, agent, manager])
    owned = {"owner": rep, "team": team}
    company = CompanyFactory(**owned)
    contact = ContactFactory(company=company, **owned)
    deal = DealFactory(company=company, contact=contact, **owned)
    category = services.category_create(actor=agent, name="Accounts")
    article = services.article_create(
        actor=agent,
        data={
            "title": "Passwords",
            "body": "Reset it.",
            "category": category,
            "status": ArticleStatus.PUBLISHED,
        },
    )
    goal = make_goal(owner=manager, scope=Scope.TEAM, team=team, name="Team goal")
    dashboard = Dashboard.objects.create(owner=rep, name="My board")
    objects = {
        "lead": LeadFactory(**owned),
        "contact": contact,
        "company": company,
        "deal": deal,
        "task": TaskFactory(assignee=rep, created_by=rep, deal=deal),
        "ticket": TicketFactory(contact=contact, company=company, assignee=agent, team=team),
        "article": article,
        "goal": goal,
        "target": make_target(goal, start_value=0, target_value=10, name="Calls"),
        "dashboard": dashboard,
        "card": DashboardCard.objects.create(dashboard=dashboard, kind="kpi", key="win_rate"),
        "rule": make_rule(
            name="Won deals make customers",
            trigger={"type": "field.changed", "record_type": "deal", "field": "status"},
        ),
        "notification": services.notify(recipients=[rep], title="Hello", url="/")[0],
        # A KPI alert on the team's numbers (metrics.alerts).
        "kpi_alert": make_alert(segment_field="team", segment_value=str(team.pk)),
        # The admins' settings pages name the reference rows.
        "pipeline": deal.pipeline,
        "stage": deal.stage,
        "field": CustomFieldFactory(record_type="deal", key="walked", label="Walked"),
        "person": rep,
        "team": team,
        # The signed-in user's own API tokens (api app).
        "api_token": api_token_create(user=rep, name="Walked")[0],
        # The admins' outbound webhook subscriptions (webhooks app).
        "webhook": WebhookSubscription.objects.create(
            owner=admin, name="Walked", url="https://hooks.example/crm", event_types=["deal.*"]
        ),
    }
    if apps.is_installed("imports"):
        # The rep's own import, waiting for its mapping (imports app); its file is not stored.
        objects["import_job"] = apps.get_model("imports", "ImportJob").objects.create(
            created_by=rep,
            record_type="contact",
            file="imports/walked.csv",
            file_name="walked.csv",
            file_format="csv",
            headers=["Last name"],
            mapping={"0": "last_name"},
            total_rows=1,
        )
    if apps.is_installed("exports"):
        # The rep's own export, written (exports app); no file behind it.
        objects["export_job"] = apps.get_model("exports", "ExportJob").objects.create(
            owner=rep, source="deals", format="csv", state="done", row_count=1
        )
    if apps.is_installed("webforms"):
        from webforms.services import webform_new

        # The admins' web forms (webforms app).
        objects["webform"] = webform_new(name="Walked", kind="lead")
    users = {"anonymous": None, "rep": rep, "agent": agent, "manager": manager, "admin": admin}
    for user in (rep, agent, manager):
        for kind in (*RECORD_KINDS, "task", "goal"):
            record = objects[kind]
            assert access.visible(type(record), user).filter(pk=record.pk).exists(), (user, kind)
    return World(users=users, objects=objects)


# The object a route's `pk` names, by the start of the route's name (first match wins).
PK_SOURCES = (
    ("settings-pipeline", "pipeline"),
    ("settings-stage", "stage"),
    ("settings-field", "field"),
    ("settings-user", "person"),
    ("settings-team", "team"),
    ("api-token", "api_token"),
    ("settings-webhook", "webhook"),
    ("settings-form", "webform"),
    ("deal-board-cards", None),
    ("notification", "notification"),
    ("kpi-alert", "kpi_alert"),
    ("custom-dashboard", "dashboard"),
    ("dashboard", "dashboard"),
    ("automation-rule", "rule"),
    ("automation-record-runs", "deal"),
    ("target", "target"),
    ("goal", "goal"),
    ("article", "article"),
    ("export-download", "export_job"),
    ("import", "import_job"),
    *((kind, kind) for kind in ("deal", "lead", "contact", "company", "task", "ticket")),
)
# Routes about "a record of any kind": walked once per kind when they take writes.
RECORD_ROUTES = {"activity-log", "record-task-add"}

# Input a permitted user's write would succeed with, so a missing check could not hide
# behind a form error.
PAYLOADS = {
    "deal-create": lambda o: {
        "name": "Sneaky deal",
        "pipeline": o["deal"].pipeline_id,
        "company": o["company"].pk,
        "amount": "100",
        "currency": "USD",
        "exchange_rate": "1",
        "kind": "new_business",
        "expected_close_date": "2030-06-30",
    },
    "lead-create": lambda o: {"name": "Sneaky lead", "email": "s@example.com", "source": "web"},
    "contact-create": lambda o: {"first_name": "Sneaky", "last_name": "Contact"},
    "company-create": lambda o: {"name": "Sneaky Ltd"},
    "task-new": lambda o: {"title": "Sneaky task", "priority": "normal"},
    "record-task-add": lambda o: {"title": "Sneaky task"},
    "activity-log": lambda o: {"kind": "call", "subject": "Sneaky call"},
    "ticket-reply": lambda o: {"body": "Sneaky reply"},
    "ticket-create": lambda o: {
        "name": "Rosa",
        "email": "rosa@example.org",
        "subject": "Help",
        "message": "Please",
        "channel": "email",
        "priority": "normal",
    },
    "lead-qualify": lambda o: {},
    "task-complete": lambda o: {},
    "goal-delete": lambda o: {},
    "automation-rule-toggle": lambda o: {"enabled": "false"},
}


def urls_for(route: Route, objects: dict) -> list[str]:
    """The route's path(s) with real arguments; the test fails on an argument it cannot fill."""
    import re

    arguments = set(re.findall(r"<(?:\w+:)?(\w+)>", route.template))
    if "record_type" in arguments:
        # A record of any kind, named by its kind and pk (search-options takes no pk).
        kinds = RECORD_KINDS if route.name in RECORD_ROUTES else ("deal",)
        return [
            reverse(
                route.name,
                kwargs={
                    "record_type": kind,
                    **({"pk": objects[kind].pk} if "pk" in arguments else {}),
                },
            )
            for kind in kinds
        ]
    values = {}
    if "pk" in arguments:
        name = route.name or ""
        source = next((s for prefix, s in PK_SOURCES if name.startswith(prefix)), None)
        assert source, f"{route.template}: no object for <pk>"
        values["pk"] = objects[source].pk
    fixed = {
        "stage_id": objects["deal"].stage_id,
        "card_pk": objects["card"].pk,
        "key": "win_rate",
        "slug": objects["article"].slug if route.name == "help-article" else "executive",
        "token": "not-a-token",
        "uidb64": "MQ",
        "source": "deals",  # exports/lists/<source>/
    }
    for argument in arguments - set(values):
        assert argument in fixed, f"{route.template}: no value for <{argument}>"
        values[argument] = fixed[argument]
    return [reverse(route.name, kwargs=values)] if route.name else ["/" + route.template]


def watched_tables() -> list[str]:
    return [
        model._meta.db_table
        for model in apps.get_models()
        if model._meta.app_label in WATCHED_APPS and model._meta.managed and not model._meta.proxy
    ]


def snapshot(tables: list[str], objects: dict) -> tuple:
    """Row counts of every watched table (one query) and the fields of every URL object."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT " + ", ".join(f"(SELECT COUNT(*) FROM {quote(table)})" for table in tables)
        )
        counts = cursor.fetchone()
    rows = tuple(
        type(obj)._default_manager.filter(pk=obj.pk).values().first() for obj in objects.values()
    )
    return counts, rows


def expected_refusal(route: Route, user) -> str | None:
    """What a write by this user must get: "login", "403", "405", or None (it may write)."""
    if route.name in access.PUBLIC_ROUTES:
        return None
    if user is None:
        return "login" if route.login_required else "405"
    if route.name in access.OWN_ROUTES:
        return None
    permissions = access.ROUTE_PERMISSIONS.get(route.name or "")
    if permissions is None:
        return "405"
    return None if user.has_perms(permissions) else "403"


def refused_as_expected(response, expected: str) -> bool:
    if expected == "login":
        return response.status_code == 302 and response.url.startswith(LOGIN)
    if expected == "403":
        return response.status_code in (403, 404)
    return response.status_code == 405


@pytest.mark.parametrize("role", ROLES)
def test_a_write_without_the_permission_is_refused_and_writes_nothing(client, figures, role):
    world = build_world()
    user = world.users[role]
    if user is not None:
        client.force_login(user)
    tables = watched_tables()
    wrong, walked = [], 0
    for route in page_routes():
        expected = expected_refusal(route, user)
        # A page listed nowhere answers 405 whoever asks: the rep and the anonymous visitor
        # check it, the other roles only walk the pages their permissions refuse.
        if expected is None or (expected == "405" and role not in ("rep", "anonymous")):
            continue
        payload = PAYLOADS.get(route.name, lambda o: {"name": "x"})(world.objects)
        for url in urls_for(route, world.objects):
            walked += 1
            before = snapshot(tables, world.objects)
            figures.tried("bad_inputs")
            response = client.post(url, payload)
            written = snapshot(tables, world.objects) != before
            what = f"{role} POST {url} ({route.name}) -> {response.status_code}"
            if response.status_code >= 500:
                figures.add("server_errors", what)
            elif refused_as_expected(response, expected) and not written:
                figures.add("clean_rejections")
            elif written or response.status_code < 400:
                figures.add("unauthorised_successes", what + (", wrote rows" if written else ""))
            else:
                wrong.append(f"{what}, expected {expected}")
    assert not wrong, "\n".join(wrong)
    if role == "admin":
        # Admins hold every permission: nothing of theirs is refused by the table.
        assert walked == 0
    else:
        assert walked > 0
