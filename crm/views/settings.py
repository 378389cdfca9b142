"""The admins' settings area (/settings/): pipelines and stages, custom fields, users, teams,
SLA policies and the support routing, in the app's own look. The KPI bands and health weights
are the metrics app's pages of the same area (metrics/settings_views.py).

Only admins reach these pages: every route is in access.ROUTE_PERMISSIONS with permissions no
other role holds, and each view checks `admin_only` again. Every write goes through a service
(an event per change) after its form validated the input; a service's refusal is shown on the
form, with nothing written.
"""

import functools

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from crm import access, services
from crm.forms.settings import (
    CustomFieldSettingsForm,
    DeactivateForm,
    InviteForm,
    PipelineCreateForm,
    PipelineForm,
    SLAForm,
    StageForm,
    SupportRoutingForm,
    TeamForm,
    UserForm,
)
from crm.models import (
    CustomField,
    Deal,
    Pipeline,
    RecordType,
    Role,
    SLAPolicy,
    Stage,
    SupportSettings,
    Team,
    User,
)
from crm.services import custom_field_definitions as field_services
from crm.services import pipelines as pipeline_services
from crm.services import sla as sla_services
from crm.services import teams as team_services
from crm.services import users as user_services

USERS_PER_PAGE = 100


def admin_only(view):
    """Admins only (403 for everyone else), on top of the route table's permission floor."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not access.is_admin(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def _page(request, template: str, context: dict, *, page: str, form_failed: bool = False):
    """A settings page: the app's layout with the settings menu (`page` is highlighted)."""
    return render(
        request,
        f"crm/settings/{template}",
        {"section": "settings", "settings_page": page, **context},
        status=400 if form_failed else 200,
    )


def _ids(request, name: str) -> list[int] | None:
    """The ids a drag-and-drop posts, in order; None when one is not an id."""
    values = request.POST.getlist(name)
    if not all(value.isdigit() and len(value) < 19 for value in values):
        return None
    return [int(value) for value in values]


@admin_only
def index(request):
    return _page(
        request,
        "index.html",
        {
            "pipelines": Pipeline.objects.count(),
            "fields": CustomField.objects.filter(is_active=True).count(),
            "users": User.objects.filter(is_active=True).count(),
            "teams": Team.objects.count(),
            "sla_policies": SLAPolicy.objects.count(),
            "routing": SupportSettings.current(),
        },
        page="index",
    )


# --- Pipelines and stages ----------------------------------------------------------------------


@admin_only
def pipelines(request):
    form = PipelineCreateForm(request.POST or None, initial={"closing_stages": True})
    if request.method == "POST" and form.is_valid():
        try:
            pipeline = pipeline_services.pipeline_create(
                actor=request.user,
                data={name: form.cleaned_data[name] for name in ("name", "is_default")},
                closing_stages=form.cleaned_data["closing_stages"],
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _("Pipeline “%s” added: now give it its stages.") % pipeline)
            return redirect("settings-pipeline", pk=pipeline.pk)
    # One counting subquery per column: joining stages and deals in one query multiplied the
    # rows (2.2 s on a million deals).
    rows = Pipeline.objects.annotate(
        stage_count=_count_per(Stage.objects.all(), "pipeline"),
        open_deals=_count_per(Deal.objects.filter(status="open"), "pipeline"),
    )
    return _page(
        request,
        "pipelines.html",
        {"pipelines": rows, "form": form},
        page="pipelines",
        form_failed=request.method == "POST",
    )


def _count_per(queryset, field: str):
    """The rows of `queryset` whose `field` is the outer row: one count per row, read from
    the foreign key's index (a join of every deal, grouped, is 4x slower on a million).
    COUNT(*), not COUNT(id): the id is in no covering index, so counting it read every row
    (open deals per pipeline: 405 ms against 25 ms from deal_open_totals alone)."""
    counts = (
        queryset.filter(**{field: OuterRef("pk")})
        .order_by()
        .values(field)
        .annotate(n=Count("*"))
        .values("n")
    )
    return Coalesce(Subquery(counts), 0)


@admin_only
def pipeline(request, pk: int):
    pipeline = get_object_or_404(Pipeline, pk=pk)
    form = PipelineForm(request.POST or None, instance=pipeline)
    if request.method == "POST" and form.is_valid():
        try:
            pipeline_services.pipeline_update(
                pipeline=pipeline,
                actor=request.user,
                data={name: form.cleaned_data[name] for name in ("name", "is_default")},
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _("Pipeline saved."))
            return redirect("settings-pipeline", pk=pipeline.pk)
    return _pipeline_page(request, pipeline, form=form, failed=request.method == "POST")


def _pipeline_page(request, pipeline, *, form=None, stage_form=None, failed=False):
    pipeline.refresh_from_db()
    stages = pipeline.stages.annotate(deal_count=_count_per(Deal.objects.all(), "stage"))
    stages = stages.order_by("order", "pk")
    return _page(
        request,
        "pipeline.html",
        {
            "pipeline": pipeline,
            "form": form or PipelineForm(instance=pipeline),
            "stages": stages,
            "stage_form": stage_form or StageForm(),
        },
        page="pipelines",
        form_failed=failed,
    )


@admin_only
@require_POST
def stage_create(request, pk: int):
    pipeline = get_object_or_404(Pipeline, pk=pk)
    form = StageForm(request.POST)
    if form.is_valid():
        try:
            stage = pipeline_services.stage_create(
                pipeline=pipeline, actor=request.user, data=form.service_data()
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _("Stage “%s” added.") % stage.name)
            return redirect("settings-pipeline", pk=pipeline.pk)
    return _pipeline_page(request, pipeline, stage_form=form, failed=True)


@admin_only
@require_POST
def stages_reorder(request, pk: int):
    """Drag and drop (static/js/settings.js) posts every stage id in the new order."""
    pipeline = get_object_or_404(Pipeline, pk=pk)
    ids = _ids(request, "stage")
    try:
        if ids is None:
            raise ValidationError(_("The new order must list every stage once."))
        pipeline_services.stages_reorder(pipeline=pipeline, actor=request.user, stage_ids=ids)
    except ValidationError as error:
        return HttpResponse(" ".join(error.messages), status=400, content_type="text/plain")
    return HttpResponse(status=204)


@admin_only
def stage(request, pk: int):
    stage = get_object_or_404(Stage.objects.select_related("pipeline"), pk=pk)
    deals = stage.deals.count()
    form = StageForm(request.POST or None, instance=stage, deals=deals)
    if request.method == "POST" and form.is_valid():
        try:
            pipeline_services.stage_update(
                stage=stage, actor=request.user, data=form.service_data()
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _("Stage saved."))
            return redirect("settings-pipeline", pk=stage.pipeline_id)
    return _page(
        request,
        "stage.html",
        {"stage": stage, "form": form, "deals": deals},
        page="pipelines",
        form_failed=request.method == "POST",
    )


@admin_only
@require_POST
def stage_move(request, pk: int):
    """The keyboard's way to reorder: one place up or down."""
    stage = get_object_or_404(Stage, pk=pk)
    ids = list(stage.pipeline.stages.order_by("order", "pk").values_list("pk", flat=True))
    index = ids.index(stage.pk)
    other = index - 1 if request.POST.get("direction") == "up" else index + 1
    if 0 <= other < len(ids):
        ids[index], ids[other] = ids[other], ids[index]
        try:
            pipeline_services.stages_reorder(
                pipeline=stage.pipeline, actor=request.user, stage_ids=ids
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
    return redirect("settings-pipeline", pk=stage.pipeline_id)


@admin_only
@require_POST
def stage_delete(request, pk: int):
    stage = get_object_or_404(Stage, pk=pk)
    try:
        pipeline_services.stage_delete(stage=stage, actor=request.user)
    except ValidationError as error:
        # Deals are (or were) in it: the message names them and says what to do.
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Stage deleted."))
    return redirect("settings-pipeline", pk=stage.pipeline_id)


# --- Custom fields -----------------------------------------------------------------------------


@admin_only
def fields(request):
    by_type = {value: [] for value in RecordType.values}
    for field in CustomField.objects.order_by("record_type", "order", "pk"):
        by_type[field.record_type].append(field)
    groups = [(value, label, by_type[value]) for value, label in RecordType.choices]
    return _page(request, "fields.html", {"groups": groups}, page="fields")


@admin_only
def field_create(request):
    initial = {}
    if request.GET.get("record_type") in RecordType.values:
        initial["record_type"] = request.GET["record_type"]
    form = CustomFieldSettingsForm(request.POST or None, initial=initial)
    return _field_form(request, form, None)


@admin_only
def field_edit(request, pk: int):
    field = get_object_or_404(CustomField, pk=pk)
    return _field_form(
        request, CustomFieldSettingsForm(request.POST or None, instance=field), field
    )


def _field_form(request, form, field):
    if request.method == "POST" and form.is_valid():
        try:
            if field is None:
                field = field_services.custom_field_create(
                    actor=request.user, data=form.service_data()
                )
            else:
                field = field_services.custom_field_update(
                    field=field, actor=request.user, data=form.service_data()
                )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _("Custom field “%s” saved.") % field.label)
            return redirect("settings-fields")
    return _page(
        request,
        "field.html",
        {"form": form, "field": field},
        page="fields",
        form_failed=request.method == "POST",
    )


@admin_only
@require_POST
def fields_reorder(request):
    record_type = request.POST.get("record_type")
    ids = _ids(request, "field")
    try:
        if record_type not in RecordType.values or ids is None:
            raise ValidationError(_("The new order must list every field of the record once."))
        field_services.custom_fields_reorder(
            record_type=record_type, actor=request.user, field_ids=ids
        )
    except ValidationError as error:
        return HttpResponse(" ".join(error.messages), status=400, content_type="text/plain")
    return HttpResponse(status=204)


# --- Users -------------------------------------------------------------------------------------


@admin_only
def users(request):
    rows = User.objects.prefetch_related("groups", "teams").order_by(
        "-is_active", "first_name", "last_name", "username"
    )
    page = Paginator(rows, USERS_PER_PAGE).get_page(request.GET.get("page"))
    return _page(request, "users.html", {"page": page}, page="users")


@admin_only
def user_invite(request):
    form = InviteForm(request.POST or None, initial={"role": Role.SALES_REP})
    if request.method == "POST" and form.is_valid():
        try:
            user = user_services.user_invite(
                actor=request.user,
                data=form.user_data(),
                role=form.cleaned_data["role"],
                teams=list(form.cleaned_data["teams"]),
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(
                request,
                _("%(user)s is invited: a link to choose a password is on its way to %(email)s.")
                % {"user": user, "email": user.email},
            )
            return redirect("settings-users")
    return _page(
        request,
        "user_invite.html",
        {"form": form},
        page="users",
        form_failed=request.method == "POST",
    )


@admin_only
def user_edit(request, pk: int):
    user = get_object_or_404(User, pk=pk)
    roles = [name for name in user.role_names if name in Role.values]
    form = UserForm(
        request.POST or None,
        initial={
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email": user.email,
            "role": roles[0] if roles else "",
            "teams": list(user.teams.all()),
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            user_services.user_update(
                user=user,
                actor=request.user,
                data={n: form.cleaned_data[n] for n in ("first_name", "last_name", "email")},
                role=form.cleaned_data["role"],
                teams=list(form.cleaned_data["teams"]),
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _("%s saved.") % user)
            return redirect("settings-users")
    return _page(
        request,
        "user.html",
        {"person": user, "form": form, "invited": not user.has_usable_password()},
        page="users",
        form_failed=request.method == "POST",
    )


@admin_only
@require_POST
def user_invite_again(request, pk: int):
    user = get_object_or_404(User, pk=pk)
    try:
        user_services.user_invite_again(user=user, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The invitation is sent again to %s.") % user.email)
    return redirect("settings-user", pk=user.pk)


@admin_only
def user_deactivate(request, pk: int):
    user = get_object_or_404(User, pk=pk, is_active=True)
    form = DeactivateForm(request.POST or None, leaving=user)
    if request.method == "POST" and form.is_valid():
        successor = form.cleaned_data["reassign_to"]
        try:
            moved = services.deactivate_user(user, reassign_to=successor, by=request.user)
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(
                request,
                ngettext(
                    "%(user)s is deactivated; %(rows)d record now belongs to %(to)s.",
                    "%(user)s is deactivated; %(rows)d records now belong to %(to)s.",
                    sum(moved.values()),
                )
                % {"user": user, "rows": sum(moved.values()), "to": successor},
            )
            return redirect("settings-users")
    return _page(
        request,
        "user_deactivate.html",
        {"person": user, "form": form},
        page="users",
        form_failed=request.method == "POST",
    )


# --- Teams -------------------------------------------------------------------------------------


@admin_only
def teams(request):
    form = TeamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            team = team_services.team_create(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _("Team “%s” added.") % team)
            return redirect("settings-teams")
    rows = Team.objects.select_related("manager").annotate(member_count=Count("members"))
    return _page(
        request,
        "teams.html",
        {"teams": rows, "form": form},
        page="teams",
        form_failed=request.method == "POST",
    )


@admin_only
def team_edit(request, pk: int):
    team = get_object_or_404(Team, pk=pk)
    form = TeamForm(
        request.POST or None,
        team=team,
        initial={"name": team.name, "manager": team.manager, "members": list(team.members.all())},
    )
    if request.method == "POST" and form.is_valid():
        try:
            team_services.team_update(team=team, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _("Team “%s” saved.") % form.cleaned_data["name"])
            return redirect("settings-teams")
    return _page(
        request,
        "team.html",
        {"team": team, "form": form},
        page="teams",
        form_failed=request.method == "POST",
    )


# --- Support desk ------------------------------------------------------------------------------


@admin_only
def sla(request):
    current = {p.priority: p for p in SLAPolicy.objects.all()}
    initial = {}
    for priority, policy in current.items():
        initial[f"{priority}_first_response_hours"] = policy.first_response_hours
        initial[f"{priority}_resolution_hours"] = policy.resolution_hours
    form = SLAForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            sla_services.sla_policies_save(actor=request.user, targets=form.targets())
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _("SLA policies saved."))
            return redirect("settings-sla")
    return _page(
        request, "sla.html", {"form": form}, page="sla", form_failed=request.method == "POST"
    )


@admin_only
def support_routing(request):
    current = SupportSettings.current()
    form = SupportRoutingForm(request.POST or None, initial={"default_team": current.default_team})
    if request.method == "POST" and form.is_valid():
        services.support_settings_update(
            actor=request.user, default_team=form.cleaned_data["default_team"]
        )
        messages.success(request, _("Support routing saved."))
        return redirect("settings-support")
    return _page(
        request,
        "support.html",
        {"form": form},
        page="support",
        form_failed=request.method == "POST",
    )
