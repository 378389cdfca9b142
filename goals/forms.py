"""Goal, target, split and hand-kept value forms. The services check the rules (a period inside
its parent's, no cycle, a target that can progress, weights above zero): the forms ask them and
show their answer next to the field, so bad input writes nothing."""

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from crm.access import teammates, visible, visible_teams
from crm.forms.bootstrap import bootstrap
from crm.limits import cap_text_fields
from crm.models import Task, TaskStatus
from metrics.periods import custom_period, period_for
from metrics.registry import all_kpis

from . import services
from .models import Goal, Grain, Scope, Target, TargetKind


class GoalForm(forms.ModelForm):
    anchor = forms.DateField(
        label=_("Any day in the period"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("For a month, quarter or year; custom dates use the first and last day."),
    )

    class Meta:
        model = Goal
        fields = [
            "name",
            "description",
            "owner",
            "scope",
            "team",
            "person",
            "grain",
            "anchor",
            "start_date",
            "end_date",
            "parent",
            "weight",
            "status",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2}),
            "start_date": forms.DateInput(attrs={"type": "date"}),
            "end_date": forms.DateInput(attrs={"type": "date"}),
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        people = teammates(user).order_by("first_name", "username")
        self.fields["owner"].queryset = people
        self.fields["person"].queryset = people
        self.fields["team"].queryset = visible_teams(user).order_by("name")
        parents = visible(Goal, user).exclude(scope=Scope.PERSON)
        if self.instance.pk:
            parents = parents.exclude(pk=self.instance.pk)
        self.fields["parent"].queryset = parents.order_by("-start_date", "name")
        self.fields["start_date"].required = self.fields["end_date"].required = False
        if not self.instance.pk:
            self.initial.setdefault("owner", user.pk)
            self.initial.setdefault("grain", Grain.QUARTER)
            self.initial.setdefault("anchor", timezone.localdate())
        cap_text_fields(self)
        bootstrap(self)

    def clean(self):
        data = super().clean()
        grain = data.get("grain")
        if grain and grain != Grain.CUSTOM:
            anchor = data.get("anchor") or data.get("start_date")
            if anchor is None:
                self.add_error("anchor", _("Pick a day in the period."))
                return data
            period = period_for(grain, anchor)
            data["start_date"], data["end_date"] = period.start_date, period.end_date
        elif grain == Grain.CUSTOM:
            for key in ("start_date", "end_date"):
                if not data.get(key):
                    self.add_error(key, _("Give the first and last day."))
            if data.get("start_date") and data.get("end_date"):
                try:
                    custom_period(data["start_date"], data["end_date"])
                except ValueError as error:
                    self.add_error("end_date", str(error))
        return data

    def service_data(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k in services.GOAL_FIELDS}

    def save_with(self, *, actor):
        """Ask the service; its refusals become this form's errors (nothing is written)."""
        try:
            if self.instance.pk:
                return services.goal_update(
                    actor=actor, goal=self.instance, data=self.service_data()
                )
            return services.goal_create(actor=actor, data=self.service_data())
        except ValidationError as error:
            _add_errors(self, error)
            return None

    def _post_clean(self):
        # The service validates the model; the ModelForm must not write into the instance
        # before it has (an edit refused must leave the goal as it was).
        pass


def kpi_choices() -> list[tuple[str, str]]:
    return [("", "—")] + [(k.key, f"{k.label} ({k.key})") for k in all_kpis()]


class TargetForm(forms.ModelForm):
    segment = forms.CharField(
        label=_("Segment"),
        required=False,
        help_text=_(
            "Empty: the goal's own (owner = the person, team = the team, or everyone). "
            "Otherwise FIELD=VALUE, e.g. lead_source=web."
        ),
    )

    class Meta:
        model = Target
        fields = [
            "name",
            "kind",
            "weight",
            "direction",
            "kpi_key",
            "segment",
            "relative_percent",
            "start_value",
            "target_value",
            "band_low",
            "band_high",
            "tasks",
        ]
        widgets = {"tasks": forms.SelectMultiple(attrs={"size": 6})}

    def __init__(self, *args, goal: Goal, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.goal = goal
        self.fields["kpi_key"] = forms.ChoiceField(
            label=_("KPI"), choices=kpi_choices(), required=False
        )
        self.fields["start_value"].help_text = _(
            "Empty for a KPI: zero for amounts that add up, otherwise last period's value."
        )
        self.fields["relative_percent"].help_text = _(
            "For a KPI: e.g. 20 to raise it by 20 % over the previous period (the target is "
            "worked out)."
        )
        tasks = visible(Task, user).exclude(status=TaskStatus.CANCELLED)
        if goal.scope == Scope.PERSON:
            tasks = tasks.filter(assignee_id=goal.person_id)
        elif goal.scope == Scope.TEAM:
            tasks = tasks.filter(assignee__teams=goal.team_id)
        chosen = list(self.instance.tasks.values_list("pk", flat=True)) if self.instance.pk else []
        recent = tasks.order_by("-created_at").values_list("pk", flat=True)[:200]
        self.fields["tasks"].queryset = (
            Task.objects.filter(pk__in=[*recent, *chosen])
            .select_related("assignee")
            .order_by("-created_at", "title")
        )
        self.fields["tasks"].label_from_instance = task_label
        if not self.instance.pk:
            self.initial.setdefault("kind", TargetKind.KPI)

        if self.instance.segment_field:
            self.initial["segment"] = f"{self.instance.segment_field}={self.instance.segment_value}"
        self.fields["kpi_key"].widget.attrs.update(
            {
                "hx-get": goal_kpi_preview_url(goal),
                "hx-trigger": "change",
                "hx-target": "#kpi-preview",
                "hx-include": "[name=segment]",
            }
        )
        self.fields["segment"].widget.attrs.update(
            {
                "hx-get": goal_kpi_preview_url(goal),
                "hx-trigger": "keyup changed delay:500ms, change",
                "hx-target": "#kpi-preview",
                "hx-include": "[name=kpi_key]",
            }
        )
        bootstrap(self)

    def clean_segment(self):
        text = self.cleaned_data.get("segment", "").strip()
        if not text:
            return ("", "")
        field, sep, value = text.partition("=")
        if not sep or not field.strip() or not value.strip():
            raise ValidationError(_("Write the segment as FIELD=VALUE, e.g. lead_source=web."))
        return (field.strip(), value.strip())

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind == TargetKind.KPI and not data.get("kpi_key"):
            self.add_error("kpi_key", _("Pick the KPI this target follows."))
        if kind == TargetKind.TASKS and not data.get("tasks"):
            self.add_error("tasks", _("Link at least one task."))
        if data.get("weight") is not None and data["weight"] < 0:
            self.add_error("weight", _("A weight is zero or more."))
        return data

    def service_data(self) -> dict:
        data = {k: v for k, v in self.cleaned_data.items() if k in services.TARGET_FIELDS}
        data["segment_field"], data["segment_value"] = self.cleaned_data["segment"]
        if data.get("kind") != TargetKind.KPI:
            data.update(kpi_key="", segment_field="", segment_value="", relative_percent=None)
        return data

    def save_with(self, *, actor):
        tasks = self.cleaned_data.get("tasks") or []
        try:
            if self.instance.pk:
                return services.target_update(
                    actor=actor, target=self.instance, data=self.service_data(), tasks=tasks
                )
            return services.target_create(
                actor=actor, goal=self.goal, data=self.service_data(), tasks=tasks
            )
        except ValidationError as error:
            if self.instance.pk:
                self.instance.refresh_from_db()
            _add_errors(self, error)
            return None

    def _post_clean(self):
        pass


def task_label(task: Task) -> str:
    who = task.assignee.get_full_name() if task.assignee else _("nobody")
    due = date_format(timezone.localtime(task.due_at), "SHORT_DATE_FORMAT") if task.due_at else "—"
    return f"{task.title} · {who} · {due} · {task.get_status_display()}"


def goal_kpi_preview_url(goal: Goal) -> str:
    from django.urls import reverse

    return reverse("goal-kpi-preview", args=[goal.pk])


class SplitForm(forms.Form):
    """One share per member of the goal's team (equal by default)."""

    def __init__(self, *args, goal: Goal, **kwargs):
        super().__init__(*args, **kwargs)
        self.goal = goal
        self.members = list(goal.team.members.filter(is_active=True).order_by("first_name"))
        even = (Decimal(100) / len(self.members)).quantize(Decimal("0.01")) if self.members else 0
        for member in self.members:
            self.fields[f"share_{member.pk}"] = forms.DecimalField(
                label=member.get_full_name() or member.username,
                min_value=0,
                max_digits=8,
                decimal_places=2,
                initial=even,
            )
        bootstrap(self)

    def clean(self):
        data = super().clean()
        if not self.members:
            raise ValidationError(_("This team has no members to split the goal between."))
        shares = [data.get(f"share_{m.pk}") for m in self.members]
        if all(share is not None for share in shares) and sum(shares) <= 0:
            raise ValidationError(_("The shares add up to zero: give someone a share."))
        return data

    def shares(self) -> dict:
        return {m: self.cleaned_data[f"share_{m.pk}"] for m in self.members}


class RecordValueForm(forms.Form):
    value = forms.DecimalField(label=_("New value"), max_digits=20, decimal_places=4)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bootstrap(self, small=True)


def _add_errors(form: forms.BaseForm, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)
