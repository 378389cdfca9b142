"""Tasks and activities (issue 12).

Tasks: CRUD through crm.services.tasks (`task_create`, `task_update`, the record delete) with
the same choices as the task form: the assignee among the user's teammates, the parent a task
they see, the record it is about one they may change; its status moves only through the
`complete` and `reopen` actions. Activities: listed as crm.access shows them, logged through
`activity_log` on one record the user may change, validated by the page's own ActivityForm.
"""

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action

from crm import services
from crm.access import can_change, teammates, visible
from crm.custom_fields import validate_custom_values
from crm.filters import CustomFieldFilterSet
from crm.forms.activities import ActivityForm
from crm.forms.tasks import LINK_MODELS
from crm.models import Activity, Company, Contact, Deal, Lead, Task, Ticket, User
from crm.timeline import get_record_for_user

from .base import FieldsMixin, RecordViewSet
from .errors import django_errors
from .filters import UtcIsoDateTimeFilter
from .reading import ReadOnlyRecordViewSet, visible_choice
from .records import ApiCustomFilters

# Task -----------------------------------------------------------------------------------


class TaskSerializer(FieldsMixin, serializers.ModelSerializer):
    class Meta:
        model = Task
        fields = [
            "id",
            "title",
            "notes",
            "due_at",
            "priority",
            "status",
            "assignee",
            "created_by",
            "completed_at",
            "parent",
            *LINK_MODELS,
            "custom",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["status", "created_by", "completed_at", "created_at", "updated_at"]
        extra_kwargs = {"assignee": {"required": False}}

    custom = serializers.JSONField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is None or not request.user.is_authenticated:
            return
        user = request.user
        # The task form's choices (crm.forms.tasks): a task about a record writes on it.
        if "assignee" in self.fields:
            self.fields["assignee"].queryset = teammates(user)
        if "parent" in self.fields:
            self.fields["parent"].queryset = visible(Task, user)
        for name, model in LINK_MODELS.items():
            if name in self.fields:
                queryset = visible(model, user, write=True)
                self.fields[name].queryset = (
                    queryset if can_change(user, model) else queryset.none()
                )

    def to_internal_value(self, data):
        # As on the records (api.record_serializers): a status changes only with its action.
        if isinstance(data, dict) and "status" in data:
            raise serializers.ValidationError(
                {"status": [_("Change it with POST complete/ or reopen/.")]}
            )
        return super().to_internal_value(data)

    def validate_custom(self, value):
        """Validated as the task form does (crm.custom_fields), merged into the task's own."""
        existing = None if self.instance is None else dict(self.instance.custom or {})
        try:
            validate_custom_values("task", value, existing=existing)
        except DjangoValidationError as error:
            raise serializers.ValidationError(django_errors(error)) from error
        return value

    def validate(self, attrs):
        links = [name for name in LINK_MODELS if attrs.get(name) is not None]
        if len(links) > 1:
            raise serializers.ValidationError(_("A task is about one record at most."))
        if self.instance is None and "custom" not in attrs:
            # A new task gets its required custom values checked, as the form asks for them.
            try:
                attrs["custom"] = self.validate_custom({})
            except serializers.ValidationError as error:
                raise serializers.ValidationError({"custom": error.detail}) from error
        return attrs


class TaskFilter(ApiCustomFilters, CustomFieldFilterSet):
    """As the records: `?q=`, and `?cf_<key>=` (with `__gte`/`__lte` for numbers and dates)."""

    record_type = "task"
    search_fields = ("title", "notes")
    assignee = visible_choice(User)
    parent = visible_choice(Task)
    lead = visible_choice(Lead)
    contact = visible_choice(Contact)
    company = visible_choice(Company)
    deal = visible_choice(Deal)
    ticket = visible_choice(Ticket)
    due_before = UtcIsoDateTimeFilter(field_name="due_at", lookup_expr="lt")
    due_after = UtcIsoDateTimeFilter(field_name="due_at", lookup_expr="gte")

    class Meta:
        model = Task
        fields = ["status", "priority", "assignee", "parent", *LINK_MODELS]


class TaskViewSet(RecordViewSet):
    """Tasks the user sees; `complete` and `reopen` move their status."""

    model = Task
    serializer_class = TaskSerializer
    filterset_class = TaskFilter
    ordering_fields = ["id", "due_at", "priority", "created_at", "updated_at"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator: no user
            return Task.objects.none()
        return super().get_queryset()

    def create_record(self, data: dict):
        return services.task_create(actor=self.request.user, data=data)

    def update_record(self, instance, data: dict):
        return services.task_update(task=instance, actor=self.request.user, data=data)

    @extend_schema(request=None, responses=TaskSerializer)
    @action(detail=True, methods=["post"], permission_action="change")
    def complete(self, request, pk=None):
        """Mark the task done (400 if it already is)."""
        return self.transition(
            request,
            serializers.Serializer,
            lambda task, data: services.task_complete(task=task, actor=request.user),
        )

    @extend_schema(request=None, responses=TaskSerializer)
    @action(detail=True, methods=["post"], permission_action="change")
    def reopen(self, request, pk=None):
        """Open a done or cancelled task again (400 if it is open)."""
        return self.transition(
            request,
            serializers.Serializer,
            lambda task, data: services.task_reopen(task=task, actor=request.user),
        )


# Activity -------------------------------------------------------------------------------

RECORD_FIELDS = ["lead", "contact", "company", "deal", "ticket"]


class ActivitySerializer(FieldsMixin, serializers.ModelSerializer):
    """An activity; logging one names exactly one record by its id (`deal`: 12)."""

    class Meta:
        model = Activity
        fields = [
            "id",
            "kind",
            "direction",
            "subject",
            "body",
            "outcome",
            "occurred_at",
            "user",
            *RECORD_FIELDS,
            "created_at",
        ]
        read_only_fields = ["user", "created_at"]
        extra_kwargs = {name: {"required": False} for name in ["direction", "occurred_at"]}

    def get_fields(self):
        fields = super().get_fields()
        # Plain ids: the record is checked through crm.access in `validate` (404 / 403 as the
        # page), not by a choice list that would tell "not yours" from "no such record".
        for name in RECORD_FIELDS:
            fields[name] = serializers.IntegerField(
                source=f"{name}_id",
                required=False,
                allow_null=True,
                min_value=1,
                max_value=2**63 - 1,
            )
        return fields

    def validate(self, attrs):
        named = {
            name: attrs.pop(f"{name}_id")
            for name in RECORD_FIELDS
            if attrs.get(f"{name}_id") is not None
        }
        if len(named) != 1:
            raise serializers.ValidationError(
                _("Name exactly one record: %s.") % ", ".join(RECORD_FIELDS)
            )
        form = ActivityForm(
            {
                key: value
                for key, value in self.initial_data.items()
                if key in ActivityForm.base_fields
            }
        )
        if not form.is_valid():
            raise serializers.ValidationError(form.errors)
        (kind, pk), user = next(iter(named.items())), self.context["request"].user
        # 404 for a record the user may not see, 403 for one they only read: as the page.
        record = get_record_for_user(user, kind, pk, write=True)
        return {**form.service_kwargs(), kind: record}


class ActivityFilter(django_filters.FilterSet):
    user = visible_choice(User)
    lead = visible_choice(Lead)
    contact = visible_choice(Contact)
    company = visible_choice(Company)
    deal = visible_choice(Deal)
    ticket = visible_choice(Ticket)

    class Meta:
        model = Activity
        fields = ["kind", "direction", "user", *RECORD_FIELDS]


class ActivityViewSet(ReadOnlyRecordViewSet):
    """Activities the user sees; logging one writes on its record. An activity is history:
    no route changes or deletes it."""

    model = Activity
    serializer_class = ActivitySerializer
    filterset_class = ActivityFilter
    ordering_fields = ["id", "occurred_at"]

    create = RecordViewSet.create
    _create = RecordViewSet._create

    def create_record(self, data: dict):
        return services.activity_log(actor=self.request.user, **data)
