"""Task forms: create/edit (with custom fields), quick add from a record, reassign."""

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.access import can_change, teammates, visible
from crm.models import Company, Contact, Deal, Lead, Task, Ticket

from .bootstrap import bootstrap
from .custom_fields import ServiceModelForm

LINK_MODELS = {"lead": Lead, "contact": Contact, "company": Company, "deal": Deal, "ticket": Ticket}
DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class TaskForm(ServiceModelForm):
    """Validates a task; the record it is about and its parent travel as hidden ids, each
    checked against what the user may see."""

    record_type = "task"

    class Meta:
        model = Task
        fields = [
            "title",
            "notes",
            "due_at",
            "priority",
            "assignee",
            "parent",
            *LINK_MODELS,
        ]
        widgets = {
            "notes": forms.Textarea(attrs={"rows": 3}),
            "due_at": DATETIME_WIDGET,
            "parent": forms.HiddenInput,
            **{name: forms.HiddenInput for name in LINK_MODELS},
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        assignee = self.fields["assignee"]
        assignee.queryset = teammates(user).order_by("first_name", "last_name", "username")
        assignee.required = True
        assignee.empty_label = None
        if not self.instance.pk and not self.initial.get("assignee"):
            self.initial["assignee"] = user.pk
        for name, model in {"parent": Task, **LINK_MODELS}.items():
            self.fields[name].queryset = self._choices(name, model, user)
        for name, model in LINK_MODELS.items():
            self.fields[name].error_messages["invalid_choice"] = _(
                "You cannot add a task to this %(record)s."
            ) % {"record": model._meta.verbose_name}
        bootstrap(self)

    def _choices(self, name, model, user):
        """Records the user may see, plus the one the task already points at (editing a
        teammate's task about a record of another team must not fail on the hidden field).
        A task about a record writes on it: a record the user may only read is not offered."""
        queryset = visible(model, user, write=name in LINK_MODELS)
        if name in LINK_MODELS and not can_change(user, model):
            queryset = queryset.none()
        current = getattr(self.instance, f"{name}_id", None)
        if current:
            queryset = model._default_manager.filter(
                Q(pk__in=queryset.values("pk")) | Q(pk=current)
            )
        return queryset

    def clean_parent(self):
        parent = self.cleaned_data.get("parent")
        if parent is not None and self.instance.pk and parent.pk == self.instance.pk:
            raise forms.ValidationError(_("A task cannot be a subtask of itself."))
        return parent


class ReassignForm(forms.Form):
    assignee = forms.ModelChoiceField(label=_("Assign to"), queryset=None, empty_label=None)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = teammates(user).order_by(
            "first_name", "last_name", "username"
        )
        bootstrap(self)
