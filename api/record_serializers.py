"""Serializers of the sales records' resources (api/records.py).

Foreign keys offer what the pages' forms offer: records the user sees (or the one already
set), their teammates as owners, their teams. `custom` is one object validated by
`crm.custom_fields.validate_custom_values`, as the forms do. Fields that only a transition
changes (a deal's stage, a lead's status) are refused on create and update with a pointer to
the action.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from crm import access
from crm.custom_fields import validate_custom_values
from crm.models import (
    Company,
    Contact,
    Deal,
    DealStageChange,
    Lead,
    Pipeline,
    Stage,
    User,
)

from .base import FieldsMixin
from .errors import django_errors


@extend_schema_field(OpenApiTypes.INT)
class VisibleRelatedField(serializers.PrimaryKeyRelatedField):
    """A link to a record the user sees, or to the one the record already links to."""

    def __init__(self, *, choices, **kwargs):
        self.choices_for = choices
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def get_queryset(self):
        request = self.context.get("request")
        user = request.user if request else None
        queryset = self.choices_for(user) if user else User.objects.none()
        instance = getattr(self.parent, "instance", None)
        current = getattr(instance, f"{self.source}_id", None) if instance is not None else None
        if current is not None:
            model = queryset.model
            queryset = model._default_manager.filter(
                Q(pk__in=queryset.values("pk")) | Q(pk=current)
            )
        return queryset


def _visible(model):
    return lambda user: access.visible(model, user)


def checked_custom(record_type: str, value, *, existing: dict | None):
    """`custom` checked by `validate_custom_values` (the forms' rules), errors by key."""
    try:
        validate_custom_values(record_type, value, existing=existing)
    except DjangoValidationError as error:
        raise serializers.ValidationError(django_errors(error)) from error
    return value


class RecordSerializer(FieldsMixin, serializers.ModelSerializer):
    """`custom` validated as the forms do; `transition_fields` refused with their action."""

    custom = serializers.JSONField(required=False)
    owner = VisibleRelatedField(choices=access.teammates)
    team = VisibleRelatedField(choices=access.visible_teams)
    # field name → the action that changes it
    transition_fields: dict[str, str] = {}

    def to_internal_value(self, data):
        if isinstance(data, dict):
            refused = {
                name: [_("Change it with POST %(action)s.") % {"action": action}]
                for name, action in self.transition_fields.items()
                if name in data and (self.instance is not None or name not in self.fields)
            }
            if refused:
                raise serializers.ValidationError(refused)
        return super().to_internal_value(data)

    def validate_custom(self, value):
        record_type = self.Meta.model._meta.model_name
        existing = None if self.instance is None else dict(self.instance.custom or {})
        return checked_custom(record_type, value, existing=existing)

    def validate(self, attrs):
        # A new record gets its required custom values checked even when `custom` is left out,
        # as the form would ask for them.
        if self.instance is None and "custom" not in attrs:
            try:
                attrs["custom"] = self.validate_custom({})
            except serializers.ValidationError as error:
                raise serializers.ValidationError({"custom": error.detail}) from error
        return attrs


class CompanySerializer(RecordSerializer):
    class Meta:
        model = Company
        fields = [
            "id",
            "name",
            "domain",
            "industry",
            "size_band",
            "lifecycle",
            "customer_since",
            "churned_at",
            "address",
            "notes",
            "owner",
            "team",
            "custom",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["lifecycle", "customer_since", "churned_at", "created_at"]


class ContactSerializer(RecordSerializer):
    company = VisibleRelatedField(choices=_visible(Company))

    class Meta:
        model = Contact
        fields = [
            "id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "title",
            "company",
            "lifecycle_stage",
            "language",
            "owner",
            "team",
            "custom",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at"]


class LeadSerializer(RecordSerializer):
    transition_fields = {
        "status": "/api/leads/{id}/qualify/, /disqualify/ or /convert/",
    }

    class Meta:
        model = Lead
        fields = [
            "id",
            "name",
            "email",
            "phone",
            "company_name",
            "source",
            "score",
            "status",
            "owner",
            "team",
            "custom",
            "first_response_at",
            "qualified_at",
            "disqualified_reason",
            "converted_at",
            "converted_contact",
            "converted_company",
            "converted_deal",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "status",
            "first_response_at",
            "qualified_at",
            "disqualified_reason",
            "converted_at",
            "converted_contact",
            "converted_company",
            "converted_deal",
            "created_at",
        ]


class StageChangeSerializer(serializers.ModelSerializer):
    class Meta:
        model = DealStageChange
        fields = [
            "id",
            "from_stage",
            "to_stage",
            "from_stage_entered_at",
            "seconds_in_from_stage",
            "changed_at",
            "changed_by",
        ]


class DealSerializer(RecordSerializer):
    company = VisibleRelatedField(choices=_visible(Company))
    contact = VisibleRelatedField(choices=_visible(Contact))
    # Chosen when the deal is made; later only the move action changes them.
    pipeline = serializers.PrimaryKeyRelatedField(queryset=Pipeline.objects.all(), required=False)
    stage = serializers.PrimaryKeyRelatedField(
        queryset=Stage.objects.select_related("pipeline"), required=False
    )
    transition_fields = {
        "stage": "/api/deals/{id}/move/",
        "pipeline": "/api/deals/{id}/move/",
        "status": "/api/deals/{id}/move/",
        "lost_reason": "/api/deals/{id}/move/",
    }

    class Meta:
        model = Deal
        fields = [
            "id",
            "name",
            "company",
            "contact",
            "pipeline",
            "stage",
            "status",
            "stage_entered_at",
            "closed_at",
            "lost_reason",
            "amount",
            "currency",
            "exchange_rate",
            "kind",
            "expected_close_date",
            "source_lead",
            "owner",
            "team",
            "custom",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "status",
            "stage_entered_at",
            "closed_at",
            "lost_reason",
            "source_lead",
            "created_at",
        ]

    def to_internal_value(self, data):
        if self.instance is None and isinstance(data, dict):
            # On create the stage and pipeline are the deal's starting point, not a move.
            transition_fields, self.transition_fields = self.transition_fields, {}
            try:
                refused = {
                    name: [_("This field cannot be set here.")]
                    for name in ("status", "lost_reason")
                    if name in data
                }
                if refused:
                    raise serializers.ValidationError(refused)
                return super().to_internal_value(data)
            finally:
                self.transition_fields = transition_fields
        return super().to_internal_value(data)


class DealDetailSerializer(DealSerializer):
    stage_history = StageChangeSerializer(source="stage_changes", many=True, read_only=True)

    class Meta(DealSerializer.Meta):
        fields = [*DealSerializer.Meta.fields, "stage_history"]


class PipelineSerializer(FieldsMixin, serializers.ModelSerializer):
    class Meta:
        model = Pipeline
        fields = ["id", "name", "is_default", "order"]


class StageSerializer(FieldsMixin, serializers.ModelSerializer):
    class Meta:
        model = Stage
        fields = ["id", "pipeline", "name", "order", "probability", "outcome"]


# --- Transitions' input ------------------------------------------------------------------------


class DealMoveSerializer(serializers.Serializer):
    stage = serializers.PrimaryKeyRelatedField(queryset=Stage.objects.select_related("pipeline"))
    lost_reason = serializers.CharField(required=False, allow_blank=True, max_length=200)


class LeadDisqualifySerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200)


class LeadQualifySerializer(serializers.Serializer):
    pass


class LeadConvertSerializer(serializers.Serializer):
    """The options of the convert page: link a contact/company or make new ones, and a deal."""

    contact = VisibleRelatedField(choices=_visible(Contact))
    company = VisibleRelatedField(choices=_visible(Company))
    use_matches = serializers.BooleanField(default=True)
    new_contact = serializers.BooleanField(default=False)
    new_company = serializers.BooleanField(default=False)
    create_deal = serializers.BooleanField(default=True)
    deal_name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False)
    pipeline = serializers.PrimaryKeyRelatedField(
        queryset=Pipeline.objects.all(), required=False, allow_null=True
    )
