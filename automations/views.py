"""Automation pages: the rule list, a rule's page, the builder, dry-runs and the runs on records.

Admins build rules; managers read rules and runs; reps and agents read the runs on records they
can see (crm.roles). Writes go through automations.services, which check the role again.
"""

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Max, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from crm import access
from crm.models import ActivityKind, Lifecycle, SurveyKind, TaskPriority, TicketPriority
from crm.redirects import next_url, redirect_to
from metrics.periods import GRAINS

from . import catalog
from .apps import runs_on_visible_records
from .forms import DRY_RUN_DAYS, RuleDraft, action_type_choices, value_widget
from .models import Rule, RuleRun, RunStatus
from .schema import ACTION_TYPES, OPERATORS, RECORD_TYPES, TRIGGER_TYPES

RUNS_PER_PAGE = 25
PANEL_RUNS = 20
RECORD_PAGES = {
    "lead": "lead-detail",
    "contact": "contact-detail",
    "company": "company-detail",
    "deal": "deal-detail",
    "task": "task-detail",
    "ticket": "ticket-detail",
}
PANEL_TYPES = {"lead", "contact", "company", "deal", "ticket"}
STATUS_FILTERS = [(s.value, s.label) for s in RunStatus]


def _require(user, permission: str) -> None:
    if not user.has_perm(permission):
        raise PermissionDenied


def _require_admin(user) -> None:
    if not access.is_admin(user):
        raise PermissionDenied


# --- the rule list and a rule's page ----------------------------------------------------------


@require_GET
def rule_list(request):
    _require(request.user, "automations.view_rule")
    week_ago = timezone.now() - timedelta(days=7)
    rules = list(
        Rule.objects.select_related("updated_by").annotate(
            last_run_at=Max("runs__created_at"),
            runs_week=Count("runs", filter=Q(runs__created_at__gte=week_ago)),
            errors_week=Count(
                "runs", filter=Q(runs__created_at__gte=week_ago, runs__status=RunStatus.ERROR)
            ),
        )
    )
    refs = catalog.References()
    for rule in rules:
        rule.trigger_words = catalog.describe_trigger(rule.trigger, refs=refs)
    return render(
        request,
        "automations/rule_list.html",
        {
            "section": "automations",
            "rules": [r for r in rules if not r.template_key],
            "ready_made": [r for r in rules if r.template_key],
            "can_build": access.is_admin(request.user),
        },
    )


@require_GET
def rule_detail(request, pk: int):
    _require(request.user, "automations.view_rule")
    rule = get_object_or_404(Rule.objects.select_related("created_by", "updated_by"), pk=pk)
    versions = list(rule.versions.select_related("saved_by"))
    status = request.GET.get("status", "")
    runs = rule.runs.select_related("event")
    if status in RunStatus.values:
        runs = runs.filter(status=status)
    page = Paginator(runs, RUNS_PER_PAGE).get_page(request.GET.get("page"))
    runs_on_page = list(page.object_list)
    _attach_records(runs_on_page, request.user)
    _attach_versions(runs_on_page, rule, versions)
    refs = catalog.References()
    return render(
        request,
        "automations/rule_detail.html",
        {
            "section": "automations",
            "rule": rule,
            "words": _rule_words(rule, refs),
            "versions": [(v, _rule_words(v, refs)) for v in versions],
            "page": page,
            "runs": runs_on_page,
            "status": status,
            "status_filters": STATUS_FILTERS,
            "can_build": access.is_admin(request.user),
            "dry_run_days": DRY_RUN_DAYS,
        },
    )


def _rule_words(rule, refs) -> dict:
    record_type = catalog.trigger_record_type(rule.trigger)
    return {
        "trigger": catalog.describe_trigger(rule.trigger, refs=refs),
        "conditions": catalog.describe_conditions(
            rule.conditions, record_type=record_type, refs=refs
        ),
        "actions": [
            catalog.describe_action(action, record_type=record_type, refs=refs)
            for action in rule.actions or []
        ],
    }


def _attach_versions(runs, rule, versions) -> None:
    by_number = {v.version: v for v in versions}
    for run in runs:
        run.version_row = by_number.get(run.rule_version)
        run.is_earlier_version = run.rule_version != rule.version


def _attach_records(runs, user) -> None:
    """Each run's record label and link, only for records the user may see (one query per
    record type on the page, whatever the number of runs)."""
    wanted: dict[str, set[int]] = {}
    for run in runs:
        if run.record_type and run.record_id is not None:
            wanted.setdefault(run.record_type, set()).add(run.record_id)
    seen: dict[tuple[str, int], str] = {}
    for record_type, ids in wanted.items():
        model = catalog.record_model(record_type)
        if model is None or model not in access.RULES:
            continue
        for record in access.visible(model, user).filter(pk__in=ids):
            seen[(record_type, record.pk)] = str(record)
    label_results(runs)
    for run in runs:
        key = (run.record_type, run.record_id)
        run.record_label = seen.get(key, "")
        run.record_url = _record_url(*key) if key in seen else ""
        run.record_type_label = RECORD_TYPES.get(run.record_type, run.record_type)


def label_results(runs) -> None:
    """Each action result with the action's name as people read it."""
    for run in runs:
        results = run.actions if isinstance(run.actions, list) else []
        run.results = [
            {**result, "label": ACTION_TYPES.get(result.get("type"), result.get("type", ""))}
            for result in results
            if isinstance(result, dict)
        ]


def _record_url(record_type: str, pk: int) -> str:
    name = RECORD_PAGES.get(record_type)
    try:
        return reverse(name, args=[pk]) if name else ""
    except NoReverseMatch:
        return ""


# --- the builder ------------------------------------------------------------------------------


def rule_new(request):
    _require_admin(request.user)
    if request.method == "POST":
        return _builder_post(request, rule=None)
    return _render_builder(request, RuleDraft.blank(), rule=None)


def rule_edit(request, pk: int):
    _require_admin(request.user)
    rule = get_object_or_404(Rule, pk=pk)
    if request.method == "POST":
        return _builder_post(request, rule=rule)
    return _render_builder(request, RuleDraft.from_rule(rule), rule=rule)


def _builder_post(request, *, rule):
    from . import services

    draft = RuleDraft.from_post(request.POST)
    op = request.POST.get("builder_op", "")
    if op == "dry_run":
        return _builder_dry_run(request, draft, rule=rule)
    if op:
        draft.apply(op)
        return _render_builder(request, draft, rule=rule)
    if not draft.check():
        return _render_builder(request, draft, rule=rule, status=400)
    try:
        if rule is None:
            rule = services.rule_create(actor=request.user, data=draft.data())
        else:
            rule = services.rule_update(rule=rule, actor=request.user, data=draft.data())
    except ValidationError as error:
        draft.add_service_errors(error)
        return _render_builder(request, draft, rule=rule, status=400)
    messages.success(request, _("The rule “%(name)s” is saved.") % {"name": rule.name})
    return redirect("automation-rule", pk=rule.pk)


def _builder_dry_run(request, draft, *, rule):
    """Test the rule being edited on the last N days, without saving it (writes nothing)."""
    from . import services

    days = _dry_run_days(request.POST.get("dry_run_days"))
    report = None
    if draft.check() or not _blocking_errors(draft):
        data = draft.data()
        try:
            report = services.rule_dry_run(
                actor=request.user,
                trigger=data["trigger"],
                conditions=data["conditions"],
                actions=data["actions"],
                days=days,
            )
        except ValidationError as error:
            draft.add_service_errors(error)
    status = 200 if report is not None else 400
    return _render_builder(request, draft, rule=rule, status=status, report=report, days=days)


def _blocking_errors(draft) -> bool:
    """A missing name does not stop a dry-run; anything about the rule's shapes does."""
    return bool(set(draft.errors) - {"name"}) or (
        any(r.errors for r in draft.rows) or any(a.errors for a in draft.actions)
    )


def _dry_run_days(raw) -> int:
    try:
        days = int(raw)
    except (TypeError, ValueError):
        return 7
    return days if days in DRY_RUN_DAYS else 7


def _render_builder(request, draft, *, rule, status=200, report=None, days=7):
    refs = draft.refs
    record_type = draft.record_type
    specs = draft.specs
    trigger_specs = draft.specs_for(draft.trigger.get("record_type"))
    _decorate_rows(draft, specs)
    trigger_spec = trigger_specs.get(draft.trigger.get("field"))
    context = {
        "section": "automations",
        "rule": rule,
        "draft": draft,
        "trigger_types": list(TRIGGER_TYPES.items()),
        "record_types": list(RECORD_TYPES.items()),
        "record_type": record_type,
        "trigger_fields": [s for s in trigger_specs.values() if s.on_record],
        "trigger_from": value_widget(trigger_spec, "eq", draft.trigger.get("from"), "trigger-from"),
        "trigger_to": value_widget(trigger_spec, "eq", draft.trigger.get("to"), "trigger-to"),
        "date_fields": [s for s in trigger_specs.values() if s.on_record and s.is_date],
        "condition_fields": list(specs.values()),
        "writable_fields": [s for s in specs.values() if s.writable],
        "specs": specs,
        "operators": OPERATORS,
        "action_types": action_type_choices(),
        "users": refs.users,
        "teams": refs.teams,
        "lifecycles": Lifecycle.choices,
        "task_priorities": TaskPriority.choices,
        "ticket_priorities": TicketPriority.choices,
        "survey_kinds": SurveyKind.choices,
        "activity_kinds": ActivityKind.choices,
        "kpis": _kpi_menu(draft.trigger),
        "max_window_days": catalog.MAX_WINDOW_DAYS,
        "grains": [(grain, GRAINS[grain]) for grain in catalog.KPI_GRAINS],
        "dry_run_days": DRY_RUN_DAYS,
        "days": days,
        "report": report,
        "form_url": request.path,
    }
    return render(request, "automations/builder.html", context, status=status)


def _kpi_menu(trigger: dict) -> list[tuple[str, str]]:
    """The KPIs a threshold or an alert rule may watch; for each customer, only the engagement
    the engine counts."""
    if trigger.get("type") not in ("kpi.threshold", "kpi.alert"):
        return []
    choices = catalog.kpi_choices()
    if trigger.get("per") == "company":
        return [(key, label) for key, label in choices if key == catalog.PER_COMPANY_KPI]
    return choices


def _decorate_rows(draft, specs) -> None:
    """Each row's menus: the operators that fit its field, and its value input."""
    for row in draft.rows:
        spec = specs.get(row.field)
        ops = spec.operators if spec else list(OPERATORS)
        row.operator_choices = [(op, OPERATORS[op]) for op in ops]
        row.widget = value_widget(spec, row.op, row.value, f"cond-{row.index}-value")
    for action in draft.actions:
        if action.type == "update_field":
            spec = specs.get(action.params.get("field"))
            if spec is not None:
                action.widget = value_widget(
                    spec, "eq", action.params.get("value", ""), f"action-{action.index}-value"
                )


@require_POST
def rule_toggle(request, pk: int):
    from . import services

    _require_admin(request.user)
    rule = get_object_or_404(Rule, pk=pk)
    back = next_url(request, reverse("automation-rule", args=[rule.pk]))
    enabled = request.POST.get("enabled") == "true"
    services.rule_set_enabled(rule=rule, actor=request.user, enabled=enabled)
    if enabled:
        messages.success(request, _("The rule “%(name)s” is on.") % {"name": rule.name})
    else:
        messages.info(request, _("The rule “%(name)s” is off.") % {"name": rule.name})
    return redirect_to(back)


@require_POST
def rule_duplicate(request, pk: int):
    from . import services

    _require_admin(request.user)
    rule = get_object_or_404(Rule, pk=pk)
    copy = services.rule_duplicate(rule=rule, actor=request.user)
    messages.success(request, _("Copied as “%(name)s” (off).") % {"name": copy.name})
    return redirect("automation-rule-edit", pk=copy.pk)


@require_GET
def rule_dry_run(request, pk: int):
    """The saved rule on the last N days: what would have matched and which actions run."""
    from . import services

    _require_admin(request.user)
    rule = get_object_or_404(Rule, pk=pk)
    days = _dry_run_days(request.GET.get("days"))
    report, error = None, None
    try:
        report = services.rule_dry_run(
            actor=request.user,
            trigger=rule.trigger,
            conditions=rule.conditions,
            actions=rule.actions,
            days=days,
        )
    except ValidationError as problem:
        error = problem.messages
    return render(
        request,
        "automations/dry_run.html",
        {
            "section": "automations",
            "rule": rule,
            "words": _rule_words(rule, catalog.References()),
            "report": report,
            "error": error,
            "days": days,
            "dry_run_days": DRY_RUN_DAYS,
        },
    )


# --- runs on records --------------------------------------------------------------------------


@require_GET
def record_runs(request, record_type: str, pk: int):
    """The lazy "Automation runs" panel of a record page (404 if the record is not visible)."""
    from . import services

    _require(request.user, "automations.view_rulerun")
    model = catalog.record_model(record_type)
    if record_type not in PANEL_TYPES or model is None:
        raise Http404
    access.get_for_user(model, request.user, pk)
    runs = services.runs_for_record(record_type=record_type, record_id=pk, user=request.user)
    runs = list(runs.order_by("-created_at", "-id")[:PANEL_RUNS])
    label_results(runs)
    return render(
        request,
        "automations/_record_runs.html",
        {"runs": runs, "can_read_rules": request.user.has_perm("automations.view_rule")},
    )


@require_GET
def my_runs(request):
    """Runs on the records the user can see: the reps' and agents' Automations page."""
    _require(request.user, "automations.view_rulerun")
    runs = RuleRun.objects.select_related("rule").filter(_visible_runs_q(request.user))
    status = request.GET.get("status", "")
    if status in RunStatus.values:
        runs = runs.filter(status=status)
    page = Paginator(runs, RUNS_PER_PAGE).get_page(request.GET.get("page"))
    runs_on_page = list(page.object_list)
    _attach_records(runs_on_page, request.user)
    return render(
        request,
        "automations/my_runs.html",
        {
            "section": "automation-runs",
            "page": page,
            "runs": runs_on_page,
            "status": status,
            "status_filters": STATUS_FILTERS,
            "can_read_rules": request.user.has_perm("automations.view_rule"),
        },
    )


def _visible_runs_q(user) -> Q:
    if access.is_admin(user):
        return Q()
    return runs_on_visible_records(user, sorted(PANEL_TYPES | {"task"}))
