"""Who sees what: the one place record visibility is decided (DESIGN.md, "Access in one place").

- Admins see and change everything.
- Everyone else sees the records they own and those of their teams: a record whose `team` is
  one of the user's teams, or whose owner belongs to one of them. A manager's teams are those
  they manage as well as those they belong to.
- Tickets follow the same rule by assignee; managers see every ticket, as admins do. A ticket
  with neither assignee nor team (what the public contact form opens while no support team is
  set in crm.SupportSettings) is seen by support agents. A sales rep also sees the tickets of
  the contacts and companies they see, wherever support routed them: they follow up on their
  own customers, not on every stranger's.
- A support agent also reads (never changes) the contact and the company of every ticket they
  see: working a ticket means reading who wrote it. Changing them still follows the owner and
  team rule.
- Records hanging off another follow it: a stage change its deal, a subscription its company, a
  survey answer its company, contact or ticket; people (and their logins) are seen by their
  teammates. A manager reads the whole company's KPI numbers (metrics.dashboards) but, like
  everyone, only these rows behind them.
- Changing a record also needs the role's `change` permission, and so does adding to it (an
  activity, a task): a rep who reads a ticket does not write on it.

Pages and endpoints fetch through `visible(...)` or a `get_*_for_user` helper: a record the
user may not see answers 404, one they may see but not change answers 403.

Every page that writes is listed once in `ROUTE_PERMISSIONS` with the permissions its user
needs; crm.middleware.RoutePermissionMiddleware refuses the others with 403 before the view
runs, and a route in no list takes no write at all (405). The record helpers above refine that
floor per record; they do not replace it.
"""

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db.models import Exists, Model, OuterRef, Q, QuerySet
from django.http import Http404

from .expressions import InIdsOf
from .models import (
    Activity,
    Company,
    Contact,
    Deal,
    DealStageChange,
    Lead,
    LoginEvent,
    Role,
    Subscription,
    SurveyAnswer,
    Task,
    Team,
    Ticket,
    User,
)


def is_admin(user) -> bool:
    return bool(user.is_superuser or user.has_role(Role.ADMIN))


def is_manager(user) -> bool:
    return user.has_role(Role.MANAGER)


def is_support_agent(user) -> bool:
    return user.has_role(Role.SUPPORT_AGENT)


def team_ids(user) -> list[int]:
    """The teams whose records the user sees (cached on the user object for the request)."""
    cached = getattr(user, "_crm_team_ids", None)
    if cached is None:
        cached = list(
            Team.objects.filter(Q(members=user) | Q(manager=user))
            .values_list("id", flat=True)
            .distinct()
        )
        user._crm_team_ids = cached
    return cached


def member_ids(user) -> list[int]:
    """The user and the members of their teams (cached on the user object for the request)."""
    cached = getattr(user, "_crm_member_ids", None)
    if cached is None:
        members = User.teams.through.objects.filter(team_id__in=team_ids(user))
        cached = sorted({user.pk, *members.values_list("user_id", flat=True)})
        user._crm_member_ids = cached
    return cached


def teammates(user) -> QuerySet:
    """Users whose records the user sees: themselves and members of their teams."""
    if is_admin(user):
        return User.objects.filter(is_active=True)
    return User.objects.filter(pk__in=member_ids(user))


def visible_teams(user) -> QuerySet:
    return Team.objects.all() if is_admin(user) else Team.objects.filter(id__in=team_ids(user))


# The rules compare foreign keys with lists of ids worked out once per request: no join that
# could repeat a row, so the database filters with plain index lookups.


def _owned_q(user, owner_field: str = "owner", team_field: str = "team") -> Q:
    return Q(**{f"{owner_field}_id__in": member_ids(user)}) | Q(
        **{f"{team_field}_id__in": team_ids(user)}
    )


def _task_q(user) -> Q:
    ids = team_ids(user)
    return (
        Q(assignee_id__in=member_ids(user))
        | Q(created_by=user)
        | Q(lead__team_id__in=ids)
        | Q(deal__team_id__in=ids)
        | Q(contact__team_id__in=ids)
        | Q(company__team_id__in=ids)
        | Q(ticket__team_id__in=ids)
    )


def _ticket_q(user) -> Q:
    mine = _owned_q(user, owner_field="assignee")
    if is_support_agent(user):
        # The support queue: tickets nobody has taken and no team was routed to.
        return mine | Q(assignee__isnull=True, team__isnull=True)
    # A sales rep follows up on their own customers' tickets, wherever support routed them,
    # and not on every stranger's. Joined to the customer, each ticket one probe of an index
    # carrying the owner and team (crm 0033): a page of the queue stops after its first rows,
    # where an existence check first hashed every contact and company of the rep's team.
    return (
        mine
        | _owned_q(user, "contact__owner", "contact__team")
        | _owned_q(user, "company__owner", "company__team")
    )


ACTIVITY_RECORDS = {"lead": Lead, "deal": Deal, "contact": Contact, "company": Company}


def _activity_q(user) -> Q:
    ids = team_ids(user)
    rule = Q(user_id__in=member_ids(user))
    if is_support_agent(user):
        # A support team holds tickets and few sales records, so an agent sees few of the
        # activities: each branch as an index probe of a short id list (crm.expressions),
        # where the joined form read all 1.19M activities backwards to fill one page. A rep's
        # team holds hundreds of thousands of records: the join, which stops at a page.
        held = ACTIVITY_RECORDS.items() if ids else ()  # no team, no team's records
        for field, model in held:
            rule |= Q(
                InIdsOf(
                    f"{field}_id", model.objects.filter(team_id__in=ids).order_by().values("id")
                )
            )
        return rule
    for field in ACTIVITY_RECORDS:
        rule |= Q(**{f"{field}__team_id__in": ids})
    return rule


def _survey_answer_q(user) -> Q:
    return (
        _owned_q(user, "company__owner", "company__team")
        | _owned_q(user, "contact__owner", "contact__team")
        | _owned_q(user, "ticket__assignee", "ticket__team")
    )


def _ticket_customers_q(user, field: str) -> Q:
    """The contacts or companies (`field` of a ticket) of the tickets the user sees: an
    existence check per customer (through the ticket's foreign-key index), so a customer with
    many tickets is still one row. Not `pk IN (tickets)`: once an agent's tickets outgrow
    work_mem, PostgreSQL scans them again for every customer (minutes on 320k contacts)."""
    tickets = visible(Ticket, user).filter(**{field: OuterRef("pk")})
    # The database's mark first (crm 0051): a column of the row, where each customer with no
    # ticket ever (141k prospects, 218k contacts on the large seed) was an index probe.
    return Q(had_ticket=True) & Q(Exists(tickets))


# Rules that reach further for reading than for changing: (model, roles' check, extra rule).
READ_ONLY_REACH = {
    Contact: (is_support_agent, lambda user: _ticket_customers_q(user, "contact")),
    Company: (is_support_agent, lambda user: _ticket_customers_q(user, "company")),
}


# The models whose rule is the owner and team rule alone, on these (owner, team) fields.
OWNER_TEAM_FIELDS = {
    Lead: ("owner", "team"),
    Contact: ("owner", "team"),
    Company: ("owner", "team"),
    Deal: ("owner", "team"),
    DealStageChange: ("deal__owner", "deal__team"),
    Subscription: ("company__owner", "company__team"),
}


def _owned_rule(model):
    return lambda user: _owned_q(user, *OWNER_TEAM_FIELDS[model])


RULES = {
    **{model: _owned_rule(model) for model in OWNER_TEAM_FIELDS},
    Task: _task_q,
    Ticket: _ticket_q,
    Activity: _activity_q,
    SurveyAnswer: _survey_answer_q,
    User: lambda user: Q(pk__in=member_ids(user)),
    LoginEvent: lambda user: Q(user_id__in=member_ids(user)),
}


def review_rule(user) -> Q:
    """The Monday reviews (metrics.WeeklyReview) a user reads: their own; a manager also the
    company's and their teams' (never another team's). Registered by the metrics app."""
    rule = Q(scope="person", person_id=user.pk)
    if is_manager(user):
        rule |= Q(scope="company") | Q(scope="team", team_id__in=team_ids(user))
    return rule


def register_rule(model, rule) -> None:
    """Add the visibility rule of another app's model (goals, automation runs): `crm` imports no
    other app, so they hand their rule in from their AppConfig.ready(). The rule is a function
    of the user returning a Q; admins still see everything."""
    RULES[model] = rule


def visible(queryset_or_model, user, *, write: bool = False) -> QuerySet:
    """The rows of a model (or queryset) the user may see, or with `write` the rows whose
    change they are not kept from by the rules (their role's permission is checked apart)."""
    queryset = (
        queryset_or_model._default_manager.all()
        if isinstance(queryset_or_model, type)
        else queryset_or_model
    )
    if is_admin(user) or (queryset.model is Ticket and is_manager(user)):
        return queryset
    rule = RULES[queryset.model](user)
    reach = READ_ONLY_REACH.get(queryset.model)
    if not write and reach is not None and reach[0](user):
        rule |= reach[1](user)
    return queryset.filter(rule)


def owner_team_fields(model, user) -> tuple[str, str] | None:
    """The (owner, team) fields that alone decide which rows of `model` the user reads, so
    `sees_owner_or_team` tells it for a row from those two values (a KPI's parts grouped by
    owner and team count what a manager's drill-down lists without listing it); None when
    more decides it (an admin sees every row; a support agent also reads their tickets'
    customers)."""
    reach = READ_ONLY_REACH.get(model)
    if is_admin(user) or (reach is not None and reach[0](user)):
        return None
    return OWNER_TEAM_FIELDS.get(model)


def reaches_past_owner_team(model, user) -> bool:
    """Whether the user reads rows of `model` beyond the owner and team rule (a support agent,
    their tickets' customers): a check that probes another table for each row."""
    reach = READ_ONLY_REACH.get(model)
    return reach is not None and not is_admin(user) and reach[0](user)


def owner_team_reach(model, user) -> tuple[list[int], list[int]] | None:
    """(people, teams) when the user reads a row of `model` exactly when its owner is one of
    those people or its team one of those teams (the owner and team rule alone, on the
    row's own `owner` and `team`): so the rows of an owner not among them are those of their
    teams, and the rows of a team not theirs are those of their people. None otherwise."""
    if owner_team_fields(model, user) != ("owner", "team"):
        return None
    return member_ids(user), team_ids(user)


def sees_owner_or_team(user, owner_id: int | None, team_id: int | None) -> bool:
    """Whether the user reads a row owned by `owner_id` in `team_id`, for the models of
    `owner_team_fields`: the rule `visible` applies to them, on two values."""
    return owner_id in member_ids(user) or team_id in team_ids(user)


def own(model, user) -> QuerySet:
    """The user's own records (owner, or assignee for tasks and tickets). The rules above always
    let a user see their own rows, so no team condition is added: "my" lists stay plain index
    lookups on big tables."""
    field = "assignee" if model in (Task, Ticket) else "owner"
    return model._default_manager.filter(**{field: user})


def can_change(user, obj: Model | type[Model]) -> bool:
    """Whether the user may change the record (or, given a model, records of that model): the
    role's permission, and for a record they only read (READ_ONLY_REACH) the change rule."""
    meta = obj._meta
    if not user.has_perm(f"{meta.app_label}.change_{meta.model_name}"):
        return False
    reach = READ_ONLY_REACH.get(type(obj))
    if isinstance(obj, Model) and reach is not None and reach[0](user) and not is_admin(user):
        return visible(type(obj), user, write=True).filter(pk=obj.pk).exists()
    return True


def may_export_all(user) -> bool:
    """Whether the user may export every record of a type at once, whatever list filters
    (the settings area's "export everything"): admins. Lists export what their user sees."""
    return is_admin(user)


def get_for_user(queryset_or_model, user, pk, *, write: bool = False):
    """The record the user asked for: 404 if they may not see it, 403 if not change it."""
    try:
        obj = visible(queryset_or_model, user).get(pk=pk)
    except (ValueError, TypeError, ObjectDoesNotExist, ValidationError) as error:
        raise Http404 from error
    if write and not can_change(user, obj):
        raise PermissionDenied
    return obj


def get_lead_for_user(user, pk, *, write: bool = False) -> Lead:
    return get_for_user(Lead.objects.select_related("owner", "team"), user, pk, write=write)


def get_contact_for_user(user, pk, *, write: bool = False) -> Contact:
    queryset = Contact.objects.select_related("owner", "team", "company")
    return get_for_user(queryset, user, pk, write=write)


def get_company_for_user(user, pk, *, write: bool = False) -> Company:
    return get_for_user(Company.objects.select_related("owner", "team"), user, pk, write=write)


def get_deal_for_user(user, pk, *, write: bool = False) -> Deal:
    queryset = Deal.objects.select_related(
        "owner", "team", "company", "contact", "pipeline", "stage"
    )
    return get_for_user(queryset, user, pk, write=write)


def get_task_for_user(user, pk, *, write: bool = False) -> Task:
    return get_for_user(Task.objects.select_related("assignee", "parent"), user, pk, write=write)


def get_ticket_for_user(user, pk, *, write: bool = False) -> Ticket:
    queryset = Ticket.objects.select_related("assignee", "team", "contact", "company")
    return get_for_user(queryset, user, pk, write=write)


# Imports (imports app): a file adds records of one type and may update those it matches, so
# importing needs both permissions of that type. Its upload page is one route per type
# (ROUTE_PERMISSIONS below); a job's own pages (OWN_ROUTES) check the same for the job's type.
IMPORT_RECORD_TYPES = (
    "company",
    "contact",
    "lead",
    "deal",
    "task",
    "ticket",
    "subscription",
    "expense",
)


def import_permissions(record_type: str) -> tuple[str, ...]:
    return (f"crm.add_{record_type}", f"crm.change_{record_type}")


def may_import(user, record_type: str) -> bool:
    return record_type in IMPORT_RECORD_TYPES and user.has_perms(import_permissions(record_type))


# --- Writes: the permission floor of every page that changes something ------------------------
#
# One entry per named route that takes a write (POST, PUT, PATCH, DELETE): the permissions the
# user must hold, all of them. A route exists to write (a form, an action), so its GET is
# refused too unless READ_ON_GET says the GET is a page to read. The API (DRF permission
# classes) and the admin (model permissions) keep their own checks and are not listed.
# Admin only: the other roles read pipelines, fields, users and teams but change none of them
# (crm/roles.py), so only the admin role (and superusers) hold these.
SETTINGS_PERMISSIONS = ("crm.change_pipeline", "crm.change_customfield", "crm.change_user")
ROUTE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    # Leads, contacts, companies, deals
    "lead-create": ("crm.add_lead",),
    "lead-edit": ("crm.change_lead",),
    "lead-bulk": ("crm.change_lead",),
    "lead-qualify": ("crm.change_lead",),
    "lead-disqualify": ("crm.change_lead",),
    # Converting may create the contact, the company and the deal.
    "lead-convert": ("crm.change_lead", "crm.add_contact", "crm.add_company", "crm.add_deal"),
    "contact-create": ("crm.add_contact",),
    "contact-edit": ("crm.change_contact",),
    "contact-bulk": ("crm.change_contact",),
    "company-create": ("crm.add_company",),
    "company-edit": ("crm.change_company",),
    "company-bulk": ("crm.change_company",),
    # Merging keeps one record and deletes the other (crm.services.merge).
    "contact-merge": ("crm.change_contact", "crm.delete_contact"),
    "company-merge": ("crm.change_company", "crm.delete_company"),
    "lead-merge": ("crm.change_lead", "crm.delete_lead"),
    "deal-create": ("crm.add_deal",),
    "deal-edit": ("crm.change_deal",),
    "deal-bulk": ("crm.change_deal",),
    "deal-move": ("crm.change_deal",),
    # Tasks and activities (the record they are added to needs change access too)
    "task-new": ("crm.add_task",),
    "task-detail": ("crm.change_task",),
    "task-complete": ("crm.change_task",),
    "task-reopen": ("crm.change_task",),
    "task-reassign": ("crm.change_task",),
    "record-task-add": ("crm.add_task",),
    "activity-log": ("crm.add_activity",),
    # Support desk
    "ticket-create": ("crm.add_ticket",),
    "ticket-bulk": ("crm.change_ticket",),
    "ticket-reply": ("crm.change_ticket", "crm.add_ticketmessage"),
    "ticket-handling": ("crm.change_ticket",),
    "ticket-resolve": ("crm.change_ticket",),
    "ticket-reopen": ("crm.change_ticket",),
    "tickets-nps": ("crm.add_surveyinvitation",),
    "article-create": ("crm.add_article",),
    "article-edit": ("crm.change_article",),
    # Imports, one upload page per record type
    **{f"import-{name}": import_permissions(name) for name in IMPORT_RECORD_TYPES},
    # Goals (hand-kept targets: goals.access.can_keep narrows to the goal's people)
    "goal-new": ("goals.add_goal",),
    "goal-edit": ("goals.change_goal",),
    "goal-delete": ("goals.delete_goal",),
    "goal-split": ("goals.add_goal", "goals.change_goal"),
    "goal-recompute": ("goals.change_target",),
    "target-new": ("goals.add_target",),
    "target-edit": ("goals.change_target",),
    "target-delete": ("goals.delete_target",),
    "target-value": ("goals.change_target",),
    "target-done": ("goals.change_target",),
    # Data quality (metrics/quality_views.py): pages to read, for managers and admins (the
    # roles that read stored KPI numbers); they take no writes (405), and any other role's GET
    # is refused.
    "data-quality": ("metrics.view_kpisnapshot",),
    "data-quality-card": ("metrics.view_kpisnapshot",),
    # Automations
    "automation-rule-new": ("automations.add_rule",),
    "automation-rule-edit": ("automations.change_rule",),
    "automation-rule-toggle": ("automations.change_rule",),
    "automation-rule-duplicate": ("automations.add_rule",),
    # KPI alerts: a manager (who reads the KPI snapshots) marks an alert expected; the view
    # also needs the alert's segment to be theirs (metrics.alerts.may_mark).
    "kpi-alert-expected": ("metrics.view_kpisnapshot",),
    # The admins' settings area (crm/views/settings.py, metrics/settings_views.py): each
    # page reads and writes configuration, so its GET is refused to others as well.
    **{
        name: SETTINGS_PERMISSIONS
        for name in (
            "settings",
            "settings-pipelines",
            "settings-pipeline",
            "settings-pipeline-stage-create",
            "settings-pipeline-stages-reorder",
            "settings-stage",
            "settings-stage-move",
            "settings-stage-delete",
            "settings-fields",
            "settings-field-create",
            "settings-fields-reorder",
            "settings-field",
            "settings-users",
            "settings-user-invite",
            "settings-user",
            "settings-user-invite-again",
            "settings-user-deactivate",
            "settings-teams",
            "settings-team",
            "settings-sla",
            "settings-support",
            "settings-kpi-bands",
            "settings-kpi-band",
            "settings-health",
            "settings-webhooks",
            "settings-webhook",
            "settings-webhook-pause",
            "settings-webhook-test",
            # Business templates (business_templates/urls.py): preview, and the POST applies.
            "settings-templates",
            "settings-template",
        )
    },
    # Web forms (webforms app): building them and reading their submissions.
    **{
        name: SETTINGS_PERMISSIONS
        for name in ("settings-forms", "settings-form", "settings-form-submissions")
    },
}

# Listed routes whose GET is a page to read: only their writes need the permissions.
READ_ON_GET = frozenset({"task-detail"})

# Writes any signed-in user may send: each touches only the user's own rows (password, list
# columns, notifications, personal dashboards, language), which the view scopes to request.user.
OWN_ROUTES = frozenset(
    {
        "logout",
        "password_change",
        "lead-columns",
        "contact-columns",
        "company-columns",
        "deal-columns",
        "notification-open",
        "notifications-read-all",
        "notifications-email",
        "dashboard-create",
        "dashboard-edit",
        "dashboard-delete",
        "dashboard-card-add",
        "dashboard-cards-reorder",
        "dashboard-card-remove",
        "dashboard-card-move",
        "api-tokens",
        "api-token-revoke",
        "language",
        # An import's mapping and undo: the importer's own job (imports.views.get_job_for_user
        # answers 404 to anyone else, 403 once they may no longer import its type).
        "import-job",
        "import-undo",
        # A large export of what the user sees, written for them alone (exports app).
        "export-start",
        # The Monday review's email opt-in: the user's own subscription row (metrics).
        "review-email",
    }
)

# Writes from people without an account: logging in, resetting a password, and the customer's
# side of the support desk (contact form, their ticket, surveys), each throttled by its view.
PUBLIC_ROUTES = frozenset(
    {
        "login",
        "password_reset",
        "password_reset_confirm",
        "support-contact",
        "support-ticket",
        "survey",
        # Web forms: the hosted page (Django's CSRF) and the cross-origin post (a signed
        # token instead), both throttled, with a honeypot and a minimum fill time.
        "webform-page",
        "webform-post",
    }
)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def route_refusal(user, url_name: str | None, method: str) -> int | None:
    """Why a request to a named page may not go on: 405 (the page takes no writes), 403 (the
    user lacks a permission the page needs) or None (go on to the view)."""
    if url_name in OWN_ROUTES or url_name in PUBLIC_ROUTES:
        return None
    permissions = ROUTE_PERMISSIONS.get(url_name or "")
    if permissions is None:
        return None if method in SAFE_METHODS else 405
    if method in SAFE_METHODS and url_name in READ_ON_GET:
        return None
    return None if user.has_perms(permissions) else 403


def may_post(user, url_name: str) -> bool:
    """Whether the user may write to the named page (to offer its form or button at all)."""
    return route_refusal(user, url_name, "POST") is None
