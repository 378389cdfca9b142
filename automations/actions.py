"""The actions of a rule. Each one changes records only through crm.services, so its changes
leave events (carrying the rule chain) and history like anyone's.

`run_action` returns a result entry for the run log: {"type", "ok", "detail", "pending"}.
Outbound actions (webhooks) only mark themselves pending here: they are sent after the run's
transaction commits, by their own task (automations.webhooks).
"""

import re
from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Count, Q
from django.template import Context, Engine
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from crm import services
from crm.models import (
    DONE_STATUSES,
    Company,
    Contact,
    Deal,
    DealStatus,
    Lead,
    LeadStatus,
    Stage,
    SurveyInvitation,
    Task,
    TaskStatus,
    Team,
    Ticket,
    User,
)

from .records import company_of, label_of, owner_of, team_of, template_context

# A sandboxed engine: no custom tags or loaders, and templates render plain dicts only.
TEMPLATES = Engine(debug=False, libraries={}, builtins=["django.template.defaultfilters"])
# Tags that would print the whole context or reach outside the record.
FORBIDDEN_TAGS = re.compile(r"{%\s*(debug|include|extends|load|url|csrf_token|ssi)\b")
DETAIL_URLS = {
    "lead": "lead-detail",
    "contact": "contact-detail",
    "company": "company-detail",
    "deal": "deal-detail",
    "task": "task-detail",
    "ticket": "ticket-detail",
}
TIMELINE_LINKS = ("lead", "contact", "company", "deal", "ticket")
OPEN_RECORDS = {
    Deal: Q(status=DealStatus.OPEN),
    Lead: Q(status__in=[LeadStatus.NEW, LeadStatus.CONTACTED, LeadStatus.QUALIFIED]),
    Ticket: ~Q(status__in=DONE_STATUSES),
    Task: Q(status=TaskStatus.OPEN),
    Contact: Q(),
    Company: Q(),
}


class ActionError(Exception):
    """An action that cannot be done on this record (shown on the run)."""


@dataclass
class ActionContext:
    rule: object
    run: object
    record: object | None
    record_type: str
    event: object | None = None
    outbound: list = field(default_factory=list)
    # A dry run changes nothing, so the record's template values are read once for all the
    # texts of its actions; a run reads them for each text, as an action before may change them.
    read_once: bool = False
    _values: dict | None = None

    def values(self) -> dict:
        if not self.read_once:
            return template_context(self.record)
        if self._values is None:
            self._values = template_context(self.record)
        return self._values


def render(template_text: str, context: ActionContext) -> str:
    """Render a title/body template over plain values of the record (no object access)."""
    values = {
        "record": context.values(),
        "rule": {"name": context.rule.name, "id": context.rule.id},
        "today": timezone.localdate(),
    }
    if FORBIDDEN_TAGS.search(template_text or ""):
        raise ActionError(_("Templates may use the record's fields, filters, if and for only."))
    try:
        return TEMPLATES.from_string(template_text or "").render(Context(values, autoescape=False))
    except Exception as error:  # a broken template is the rule's error, not the worker's
        raise ActionError(_("The template cannot be rendered: %s") % error) from error


def run_action(index: int, action: dict, context: ActionContext) -> dict:
    handler = HANDLERS.get(action.get("type"))
    if handler is None:
        raise ActionError(_("Unknown action “%s”.") % action.get("type"))
    detail = handler(action, context, index) or ""
    pending = action.get("type") in ("webhook",)
    return {"type": action.get("type"), "ok": True, "detail": str(detail), "pending": pending}


def describe(action: dict) -> str:
    """The action in words (dry-run and run pages)."""
    from .schema import ACTION_TYPES

    kind = action.get("type", "")
    label = str(ACTION_TYPES.get(kind, kind))
    extra = {
        "create_task": action.get("title", ""),
        "assign_owner": action.get("strategy", ""),
        "update_field": f"{action.get('field', '')} = {action.get('value', '')}",
        "set_lifecycle": action.get("lifecycle", ""),
        "add_note": action.get("body", "")[:60],
        "notify": f"{action.get('to', '')}: {action.get('title', '')}",
        "send_survey": action.get("kind", ""),
        "create_ticket": action.get("subject", ""),
        "webhook": action.get("url", ""),
    }.get(kind, "")
    return f"{label}: {extra}" if extra else label


# Recipients and users


def _user(user_id) -> User:
    user = User.objects.filter(pk=int(user_id), is_active=True).first()
    if user is None:
        raise ActionError(_("The user %s does not exist or is inactive.") % user_id)
    return user


def _who(spec: str, context: ActionContext) -> list[User]:
    spec = str(spec or "owner")
    if spec.startswith("user:"):
        return [_user(spec.removeprefix("user:"))]
    if spec == "team":
        team = team_of(context.record) if context.record is not None else None
        if team is None:
            raise ActionError(_("The record has no team."))
        members = list(team.members.filter(is_active=True))
        if team.manager_id and team.manager.is_active:
            members.append(team.manager)
        return members
    owner = owner_of(context.record) if context.record is not None else None
    if owner is None:
        raise ActionError(_("The record has no owner."))
    return [owner]


def _record_url(context: ActionContext) -> str:
    name = DETAIL_URLS.get(context.record_type)
    if not name or context.record is None:
        return ""
    try:
        return reverse(name, args=[context.record.pk])
    except NoReverseMatch:
        return ""


def _require_record(context: ActionContext):
    if context.record is None or context.record.pk is None:
        raise ActionError(_("This action needs a record."))
    return context.record


# The handlers


def create_task(action: dict, context: ActionContext, index: int) -> str:
    assignee = _who(action.get("assignee") or "owner", context)[0]
    hours = float(action.get("due_in_hours") or 0)  # as the builder reads it: due now
    data = {
        "title": render(action.get("title") or "", context)[:200] or context.rule.name,
        "assignee": assignee,
        "due_at": timezone.now() + timedelta(hours=hours),
        "priority": action.get("priority") or "normal",
    }
    record = context.record
    if record is not None and context.record_type in TIMELINE_LINKS + ("task",):
        data["parent" if context.record_type == "task" else context.record_type] = record
    elif record is not None and getattr(record, "company_id", None):
        data["company"] = record.company
    task = services.task_create(actor=None, data=data)
    return _("Task #%(id)s “%(title)s” for %(user)s") % {
        "id": task.pk,
        "title": task.title,
        "user": assignee,
    }


def assign_owner(action: dict, context: ActionContext, index: int) -> str:
    record = _require_record(context)
    strategy = action.get("strategy") or "user"
    if strategy == "user":
        user = _user(action.get("user"))
    else:
        team = Team.objects.filter(pk=action.get("team")).first() or team_of(record)
        if team is None:
            raise ActionError(_("Choose a team to assign within."))
        members = list(team.members.filter(is_active=True).order_by("id"))
        if not members:
            raise ActionError(_("The team %s has no active members.") % team)
        if strategy == "round_robin":
            user = _next_in_turn(context.rule, team, members)
        else:
            user = _least_loaded(type(record), members)
    _set_owner(record, user)
    return _("Assigned to %s") % user


def _next_in_turn(rule, team, members: list[User]) -> User:
    """Round-robin: the rule row is locked so two workers never hand out the same turn."""
    from .models import Rule

    locked = Rule.objects.select_for_update().get(pk=rule.pk)
    state = dict(locked.state or {})
    turns = dict(state.get("round_robin") or {})
    last = turns.get(str(team.pk))
    ids = [member.pk for member in members]
    following = [pk for pk in ids if last is None or pk > last]
    chosen = following[0] if following else ids[0]
    turns[str(team.pk)] = chosen
    state["round_robin"] = turns
    Rule.objects.filter(pk=rule.pk).update(state=state)
    rule.state = state
    return next(member for member in members if member.pk == chosen)


def _least_loaded(model, members: list[User]) -> User:
    field = "assignee" if model in (Task, Ticket) else "owner"
    counts = dict(
        model._default_manager.filter(OPEN_RECORDS.get(model, Q()))
        .filter(**{f"{field}__in": members})
        .values_list(field)
        .annotate(count=Count("pk"))
        .values_list(field, "count")
    )
    return min(members, key=lambda member: (counts.get(member.pk, 0), member.pk))


def _set_owner(record, user: User) -> None:
    if isinstance(record, Ticket):
        services.ticket_update(ticket=record, actor=None, data={"assignee": user})
    elif isinstance(record, Task):
        services.task_update(task=record, actor=None, data={"assignee": user})
    elif hasattr(record, "owner_id"):
        services.record_update(record, actor=None, data={"owner": user})
    else:
        raise ActionError(_("This kind of record has no owner."))


def update_field(action: dict, context: ActionContext, index: int) -> str:
    record = _require_record(context)
    name, value = action.get("field") or "", action.get("value")
    if name == "stage" and isinstance(record, Deal):
        stage = Stage.objects.filter(pk=value, pipeline_id=record.pipeline_id).first()
        if stage is None:
            raise ActionError(_("Choose a stage of the deal's pipeline."))
        services.deal_move_stage(deal=record, stage=stage, actor=None)
        return _("Stage set to %s") % stage
    if name.startswith("custom."):
        data = {"custom": {name.removeprefix("custom."): value}}
    else:
        data = {name: _field_value(record, name, value)}
    if isinstance(record, Ticket):
        services.ticket_update(ticket=record, actor=None, data=data)
    elif isinstance(record, Task):
        services.task_update(task=record, actor=None, data=data)
    else:
        services.record_update(record, actor=None, data=data)
    return _("%(field)s set to %(value)s") % {"field": name, "value": value}


def _field_value(record, name: str, value):
    try:
        model_field = record._meta.get_field(name)
    except Exception as error:
        raise ActionError(_("The record has no field “%s”.") % name) from error
    if model_field.is_relation and model_field.many_to_one:
        if value in (None, ""):
            return None
        related = model_field.related_model._default_manager.filter(pk=value).first()
        if related is None:
            raise ActionError(_("No %(model)s with id %(id)s.") % {"model": name, "id": value})
        return related
    if value == "" and model_field.null:
        return None
    return model_field.to_python(value)


def set_lifecycle(action: dict, context: ActionContext, index: int) -> str:
    company = company_of(_require_record(context))
    if company is None:
        raise ActionError(_("The record has no company."))
    company = services.company_set_lifecycle(
        company=company, lifecycle=action.get("lifecycle") or "customer", actor=None
    )
    return _("%(company)s is now %(lifecycle)s") % {
        "company": company,
        "lifecycle": company.get_lifecycle_display(),
    }


def add_note(action: dict, context: ActionContext, index: int) -> str:
    record = _require_record(context)
    links = _timeline_links(record, context.record_type)
    if not links:
        raise ActionError(_("This kind of record has no timeline."))
    body = render(action.get("body") or "", context)
    activity = services.activity_log(
        actor=None, kind="note", subject=context.rule.name[:200], body=body, **links
    )
    return _("Note #%s added") % activity.pk


def _timeline_links(record, record_type: str) -> dict:
    if record_type in TIMELINE_LINKS:
        return {record_type: record}
    return {
        name: getattr(record, name)
        for name in TIMELINE_LINKS
        if getattr(record, f"{name}_id", None) is not None
    }


def notify(action: dict, context: ActionContext, index: int) -> str:
    recipients = _who(action.get("to") or "owner", context)
    title = render(action.get("title") or "", context) or context.rule.name
    created = services.notify(
        recipients=recipients,
        title=title,
        body=render(action.get("body") or "", context),
        url=_record_url(context),
        kind="automation",
        key=f"automation-run:{context.run.pk}:{index}",
    )
    return _("Notified %s") % ", ".join(str(n.recipient) for n in created) or "-"


def send_survey(action: dict, context: ActionContext, index: int) -> str:
    record = _require_record(context)
    kind = action.get("kind") or "csat"
    ticket = record if isinstance(record, Ticket) else None
    contact = record if isinstance(record, Contact) else getattr(record, "contact", None)
    if contact is None and ticket is None:
        raise ActionError(_("The record has no contact to survey."))
    if ticket is not None:
        existing = SurveyInvitation.objects.filter(ticket=ticket, kind=kind).first()
        if existing is not None:
            context.outbound.append(("survey", existing.pk))
            return _("Survey %s already sent for this ticket") % kind.upper()
    invitation = services.survey_invite(kind=kind, ticket=ticket, contact=contact)
    context.outbound.append(("survey", invitation.pk))
    return _("%(kind)s survey to %(email)s") % {
        "kind": kind.upper(),
        "email": invitation.email or "-",
    }


def create_ticket(action: dict, context: ActionContext, index: int) -> str:
    record = context.record
    data = {
        "subject": render(action.get("subject") or "", context)[:200] or context.rule.name,
        "priority": action.get("priority") or "normal",
        "description": render(action.get("description") or "", context),
    }
    if record is not None:
        contact = record if isinstance(record, Contact) else getattr(record, "contact", None)
        if contact is not None:
            data["contact"] = contact
        company = company_of(record)
        if company is not None:
            data["company"] = company
    ticket = services.ticket_create(actor=None, data=data)
    return _("Ticket #%(id)s “%(subject)s”") % {"id": ticket.pk, "subject": ticket.subject}


def webhook(action: dict, context: ActionContext, index: int) -> str:
    if not action.get("url"):
        raise ActionError(_("The webhook has no URL."))
    context.outbound.append(("webhook", index))
    return _("Queued: POST %s") % action["url"]


HANDLERS = {
    "create_task": create_task,
    "assign_owner": assign_owner,
    "update_field": update_field,
    "set_lifecycle": set_lifecycle,
    "add_note": add_note,
    "notify": notify,
    "send_survey": send_survey,
    "create_ticket": create_ticket,
    "webhook": webhook,
}

__all__ = ["ActionContext", "ActionError", "HANDLERS", "describe", "label_of", "run_action"]
