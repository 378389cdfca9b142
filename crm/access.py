"""Who sees what: the one place record visibility is decided (DESIGN.md, "Access in one place").

- Admins see and change everything.
- Everyone else sees the records they own and those of their teams: a record whose `team` is
  one of the user's teams, or whose owner belongs to one of them. A manager's teams are those
  they manage as well as those they belong to.
- Tickets follow the same rule by assignee; managers see every ticket, as admins do.
- Changing a record also needs the role's `change` permission.

Pages and endpoints fetch through `visible(...)` or a `get_*_for_user` helper: a record the
user may not see answers 404, one they may see but not change answers 403.
"""

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db.models import Model, Q, QuerySet
from django.http import Http404

from .models import Activity, Company, Contact, Deal, Lead, Role, Task, Team, Ticket, User


def is_admin(user) -> bool:
    return bool(user.is_superuser or user.has_role(Role.ADMIN))


def is_manager(user) -> bool:
    return user.has_role(Role.MANAGER)


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
    return _owned_q(user, owner_field="assignee") | Q(assignee__isnull=True, team__isnull=True)


def _activity_q(user) -> Q:
    ids = team_ids(user)
    return (
        Q(user_id__in=member_ids(user))
        | Q(lead__team_id__in=ids)
        | Q(deal__team_id__in=ids)
        | Q(contact__team_id__in=ids)
        | Q(company__team_id__in=ids)
    )


RULES = {
    Lead: _owned_q,
    Contact: _owned_q,
    Company: _owned_q,
    Deal: _owned_q,
    Task: _task_q,
    Ticket: _ticket_q,
    Activity: _activity_q,
}


def register_rule(model, rule) -> None:
    """Add the visibility rule of another app's model (goals, automation runs): `crm` imports no
    other app, so they hand their rule in from their AppConfig.ready(). The rule is a function
    of the user returning a Q; admins still see everything."""
    RULES[model] = rule


def visible(queryset_or_model, user) -> QuerySet:
    """The rows of a model (or queryset) the user may see."""
    queryset = (
        queryset_or_model._default_manager.all()
        if isinstance(queryset_or_model, type)
        else queryset_or_model
    )
    if is_admin(user) or (queryset.model is Ticket and is_manager(user)):
        return queryset
    return queryset.filter(RULES[queryset.model](user))


def own(model, user) -> QuerySet:
    """The user's own records (owner, or assignee for tasks and tickets). The rules above always
    let a user see their own rows, so no team condition is added: "my" lists stay plain index
    lookups on big tables."""
    field = "assignee" if model in (Task, Ticket) else "owner"
    return model._default_manager.filter(**{field: user})


def can_change(user, obj: Model) -> bool:
    meta = obj._meta
    return user.has_perm(f"{meta.app_label}.change_{meta.model_name}")


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
