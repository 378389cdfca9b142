"""Every URL pattern of the project, with real arguments taken from a small dataset.

The reliability suite walks this map (the GET fuzz, the CSP walk): a route added to the
project is walked too, and one whose arguments this map cannot fill fails `test_url_fuzz`
until `real_kwargs` learns them, so no page silently drops out of the walk.
"""

import re
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import quote

from django.apps import apps
from django.contrib.auth.tokens import default_token_generator
from django.contrib.contenttypes.models import ContentType
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from crm import services
from crm.models import ArticleStatus, FieldType, RecordType, Role, SurveyKind
from crm.services.support import customer_link_token
from tests.crm.factories import (
    CompanyFactory,
    ContactFactory,
    CustomFieldFactory,
    DealFactory,
    ExpenseFactory,
    LeadFactory,
    SubscriptionFactory,
    SurveyAnswerFactory,
    TaskFactory,
    TicketFactory,
)
from tests.factories import TeamFactory, UserFactory

ROLES = ("anonymous", "rep", "agent", "manager", "admin")

_ROUTE_ARG = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")
_REGEX_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>(?P<body>[^)]*)\)")


@dataclass(frozen=True)
class Route:
    """One URL pattern: its full template (`deals/<int:pk>/`), name, view and arguments."""

    template: str
    name: str | None
    view: str
    converters: tuple[tuple[str, str], ...]  # (argument, converter) in template order

    @property
    def key(self) -> str:
        return self.name or self.template

    @property
    def area(self) -> str:
        """The first path segment (one per app in the admin): the fuzz's test groups."""
        parts = self.template.split("/")
        if parts[0] == "admin" and len(parts) > 2 and parts[1].isidentifier():
            return f"admin-{parts[1]}"
        return parts[0] or "home"

    @property
    def is_admin(self) -> bool:
        return self.template.startswith("admin/")

    def url(self, values: dict) -> str:
        """The path with each argument replaced by `values[name]` (quoted for its segment)."""

        def fill(match):
            value = str(values[match["name"]])
            # A <path:> argument (or a regex group) may hold slashes; any other is one segment.
            safe = "/" if dict(self.converters).get(match["name"]) in ("path", "regex") else ""
            return quote(value, safe=safe)

        # Regex groups first: their `(?P<name>...)` would read as a route's `<name>`.
        path = _REGEX_GROUP.sub(fill, self.template)
        path = _ROUTE_ARG.sub(fill, path)
        # What is left of a regex pattern (the admin's, DRF's routers and format suffixes).
        for regex, text in (("^", ""), ("$", ""), ("\\.", "."), ("/?", "/")):
            path = path.replace(regex, text)
        return "/" + path


def _pattern_text(pattern) -> str:
    return str(pattern.pattern)


def _converters(template: str) -> tuple[tuple[str, str], ...]:
    found = [(m["name"], "regex") for m in _REGEX_GROUP.finditer(template)]
    route_part = _REGEX_GROUP.sub("", template)
    found += [(m["name"], m["converter"] or "str") for m in _ROUTE_ARG.finditer(route_part)]
    return tuple(found)


def all_routes() -> list[Route]:
    """Every URL pattern of the project, includes walked recursively, in resolver order."""
    routes = []

    def walk(resolver, prefix: str):
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                walk(entry, prefix + _pattern_text(entry))
            elif isinstance(entry, URLPattern):
                template = prefix + _pattern_text(entry)
                callback = entry.callback
                view = f"{callback.__module__}.{getattr(callback, '__name__', callback)}"
                routes.append(Route(template, entry.name, view, _converters(template)))

    walk(get_resolver(), "")
    # The same template twice (two login routes) is one page to walk.
    unique = {}
    for route in routes:
        unique.setdefault(route.template, route)
    return list(unique.values())


@dataclass
class Dataset:
    users: dict  # role -> User (None for anonymous)
    team: object
    company: object
    contact: object
    lead: object
    deal: object
    task: object
    ticket: object
    article: object
    goal: object
    target: object
    dashboard: object
    card: object
    rule: object
    notification: object
    invitation: object
    custom_field: object
    activity: object
    webhook: object  # None without the webhooks app
    api_token: object  # the rep's, None without the api app
    # Rows only the API lists: subscription, expense, survey_answer, run (issue 12).
    api_records: dict | None = None
    export_job: object = None  # the rep's, written and ready (exports app)
    import_job: object = None  # the rep's, waiting for its mapping (imports app)
    webform: object = None  # a lead web form with one submission (webforms app)
    kpi_alert: object = None  # on the rep's team's numbers (metrics.alerts)


def build_dataset() -> Dataset:
    """A small world owned by the rep's team: one record of each kind a page can show."""
    from automations.models import RuleRun, RunStatus
    from goals.models import Scope
    from metrics.models import Dashboard, DashboardCard
    from tests.automations.factories import make_rule
    from tests.goals.factories import make_goal, make_target
    from tests.metrics.alert_factories import make_alert

    rep = UserFactory(username="ana", role=Role.SALES_REP)
    manager = UserFactory(username="carla", role=Role.MANAGER)
    agent = UserFactory(username="bruno", role=Role.SUPPORT_AGENT)
    admin = UserFactory(username="diego", role=Role.ADMIN, is_staff=True, is_superuser=True)
    team = TeamFactory(name="Sales", manager=manager, members=[rep, manager])
    TeamFactory(name="Support", manager=manager, members=[agent])
    owned = {"owner": rep, "team": team}

    # Custom fields of each kind a list filters by range, so `custom__cf_*__min/max` exist.
    custom_fields = [
        CustomFieldFactory(record_type=record_type, key=key, label=key, field_type=kind)
        for record_type in (
            RecordType.DEAL,
            RecordType.LEAD,
            RecordType.CONTACT,
            RecordType.COMPANY,
        )
        for key, kind in (
            ("cf_number", FieldType.NUMBER),
            ("cf_date", FieldType.DATE),
            ("cf_datetime", FieldType.DATETIME),
        )
    ]

    company = CompanyFactory(name="Acme", **owned)
    contact = ContactFactory(company=company, **owned)
    lead = LeadFactory(**owned)
    deal = DealFactory(company=company, contact=contact, amount=Decimal("5000.00"), **owned)
    task = TaskFactory(assignee=rep, created_by=rep, deal=deal)
    ticket = TicketFactory(contact=contact, company=company, assignee=agent)
    activity = services.activity_log(actor=rep, deal=deal, kind="call", subject="First call")
    category = services.category_create(actor=agent, name="Accounts")
    article = services.article_create(
        actor=agent,
        data={
            "title": "Reset your password",
            "body": "Click **Forgot password**.",
            "category": category,
            "status": ArticleStatus.PUBLISHED,
        },
    )
    goal = make_goal(owner=manager, scope=Scope.TEAM, team=team, name="Sales goal")
    target = make_target(goal, start_value=0, target_value=10, name="Calls")
    dashboard = Dashboard.objects.create(owner=rep, name="My board")
    card = DashboardCard.objects.create(dashboard=dashboard, kind="kpi", key="win_rate")
    rule = make_rule(
        name="Won deals make customers",
        trigger={"type": "field.changed", "record_type": "deal", "field": "status", "to": "won"},
        actions=[{"type": "set_lifecycle", "lifecycle": "customer"}],
    )
    run = RuleRun.objects.create(
        rule=rule,
        rule_version=rule.version,
        tick="fuzz",
        record_type="deal",
        record_id=deal.pk,
        status=RunStatus.MATCHED,
    )
    notification = services.notify(recipients=[rep], title="Goal at 50 %", url="/goals/")[0]
    invitation = services.survey_invite(kind=SurveyKind.NPS, contact=contact)
    api_token = webhook = None
    if apps.is_installed("api"):
        from api.services import api_token_create

        api_token, _secret = api_token_create(user=rep, name="Zapier")
    if apps.is_installed("webhooks"):
        webhook = apps.get_model("webhooks", "Subscription").objects.create(
            owner=admin, name="Zapier", url="https://hooks.example/crm", event_types=["deal.*"]
        )
    api_records = {
        "subscription": SubscriptionFactory(company=company),
        "expense": ExpenseFactory(),
        "survey_answer": SurveyAnswerFactory(contact=contact, company=company),
        "run": run,
    }
    import_job = None
    if apps.is_installed("imports"):
        # Its file is not stored: the pages answer without it (a preview says it is gone).
        import_job = apps.get_model("imports", "ImportJob").objects.create(
            created_by=rep,
            record_type="contact",
            file="imports/walked.csv",
            file_name="walked.csv",
            file_format="csv",
            encoding="utf-8",
            delimiter=",",
            headers=["Last name", "Email"],
            mapping={"0": "last_name", "1": "email"},
            total_rows=1,
        )
    export_job = None
    if apps.is_installed("exports"):
        # No file behind it: the download answers 404, the listing still shows it.
        export_job = apps.get_model("exports", "ExportJob").objects.create(
            owner=rep, source="deals", format="csv", state="done", row_count=1
        )
    webform = None
    if apps.is_installed("webforms"):
        from webforms.services import submission_receive, webform_new

        webform = webform_new(name="Contact us", kind="lead")
        submission_receive(
            form=webform, nonce="walked", values={"name": "Walked"}, utm={"utm_source": "x"}
        )
    return Dataset(
        users={"anonymous": None, "rep": rep, "agent": agent, "manager": manager, "admin": admin},
        team=team,
        company=company,
        contact=contact,
        lead=lead,
        deal=deal,
        task=task,
        ticket=ticket,
        article=article,
        goal=goal,
        target=target,
        dashboard=dashboard,
        card=card,
        rule=rule,
        notification=notification,
        invitation=invitation,
        custom_field=custom_fields[0],
        activity=activity,
        webhook=webhook,
        api_token=api_token,
        api_records=api_records,
        export_job=export_job,
        import_job=import_job,
        webform=webform,
        kpi_alert=make_alert(segment_field="team", segment_value=str(team.pk)),
    )


# The record each route's `pk` names, by the start of the route's name (a dotted path from
# the dataset).
_PK_BY_NAME = (
    ("settings-pipeline", "deal.pipeline"),
    ("settings-stage", "deal.stage"),
    ("settings-field", "custom_field"),
    ("settings-user", "users.rep"),
    ("settings-team", "team"),
    ("settings-webhook", "webhook"),
    ("settings-form", "webform"),
    ("api-token", "api_token"),
    ("import", "import_job"),
    ("export-download", "export_job"),
    ("deal-board-cards", None),
    ("deal", "deal"),
    ("lead", "lead"),
    ("contact", "contact"),
    ("company", "company"),
    ("task", "task"),
    ("ticket", "ticket"),
    ("article", "article"),
    ("notification", "notification"),
    ("kpi-alert", "kpi_alert"),
    ("custom-dashboard", "dashboard"),
    ("dashboard", "dashboard"),
    ("target", "target"),
    ("goal", "goal"),
    ("automation-rule", "rule"),
    ("automation-record-runs", "deal"),
    ("activity-log", "deal"),
    ("timeline", "deal"),
    ("record-task-add", "deal"),
    # The API's resources (their names start with "api-", dropped before matching).
    ("pipeline", "deal.pipeline"),
    ("stage", "deal.stage"),
    ("activity", "activity"),
    ("user", "users.rep"),
    ("team", "team"),
    ("survey-answer", "api_records.survey_answer"),
    ("subscription", "api_records.subscription"),
    ("expense", "api_records.expense"),
    ("automation-run", "api_records.run"),
    ("custom-field", "custom_field"),
)


def real_kwargs(route: Route, data: Dataset) -> dict | None:
    """Arguments naming real objects the rep's team owns; None when the map cannot tell."""
    names = dict(route.converters)
    if not names:
        return {}
    values = {}
    if route.is_admin:
        parts = route.template.split("/")
        if parts[1] == "r":  # the admin's "view on site" redirect: a content type and id
            values["object_id"] = data.deal.pk
        else:
            # <object_id> (or the user admin's <id>): the model's first row.
            model = apps.get_model(parts[1], parts[2]) if len(parts) > 3 else None
            first = model._default_manager.order_by("pk").first() if model else None
            for argument in {"object_id", "id"} & set(names):
                values[argument] = first.pk if first else 1
        if "content_type_id" in names:
            values["content_type_id"] = ContentType.objects.get_for_model(type(data.deal)).pk
        if "app_label" in names:
            values["app_label"] = "crm"
        if "url" in names:
            values["url"] = "no/such/page/"
        return values if set(values) == set(names) else None
    name = route.name or ""
    if "pk" in names:
        attribute = next(
            (
                attr
                for prefix, attr in _PK_BY_NAME
                if name.startswith(prefix) or name.removeprefix("api-").startswith(prefix)
            ),
            None,
        )
        if attribute is None:
            return None
        target = data
        for part in attribute.split("."):
            target = target[part] if isinstance(target, dict) else getattr(target, part)
        values["pk"] = target.pk
    if "record_type" in names:
        values["record_type"] = "company" if name == "search-options" else "deal"
    extra = {
        "stage_id": data.deal.stage_id,
        "card_pk": data.card.pk,
        "key": "win_rate",
        "slug": {
            "help-article": data.article.slug,
            "settings-template": "b2b_saas",  # a business template's preview
        }.get(name, "executive"),
        "token": (data.invitation.token if name == "survey" else customer_link_token(data.ticket)),
        "uidb64": urlsafe_base64_encode(force_bytes(data.users["rep"].pk)),
        "format": "json",
        "source": "deals",  # exports/lists/<source>/
        "form_slug": data.webform.slug if data.webform else "contact-us",
    }
    for argument in names:
        if argument in extra and argument not in values:
            values[argument] = extra[argument]
    if names.get("format") == "drf_format_suffix":
        values["format"] = ".json"
    if "token" in names and "uidb64" in names:
        values["token"] = default_token_generator.make_token(data.users["rep"])
    return values if set(values) == set(names) else None
