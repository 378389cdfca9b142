"""The sales records' resources: companies, contacts, leads, deals (with their stage history),
pipelines and stages (read). Conventions in api/base.py; serializers in
api/record_serializers.py; transitions are actions calling the service."""

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, filters, viewsets
from rest_framework.decorators import action

from crm import access, services
from crm.filters import (
    RANGE_TYPES,
    TEXT_TYPES,
    CompanyFilter,
    ContactFilter,
    DealFilter,
    LeadFilter,
    _CustomFilter,
)
from crm.models import Company, Contact, Deal, FieldType, Lead, Pipeline, Stage
from crm.services.records import record_create, record_update

from .base import ApiCursorPagination, RecordPermission, RecordViewSet
from .record_serializers import (
    CompanySerializer,
    ContactSerializer,
    DealDetailSerializer,
    DealMoveSerializer,
    DealSerializer,
    LeadConvertSerializer,
    LeadDisqualifySerializer,
    LeadQualifySerializer,
    LeadSerializer,
    PipelineSerializer,
    StageSerializer,
)

# --- Filters: the list pages' FilterSets, custom fields as ?cf_<key>= / __gte= / __lte= --------


class ApiCustomFilters:
    """Custom field filters named `cf_<key>` (exact, or contains for text), plus `__gte` and
    `__lte` for numbers, money and dates; a value the field refuses answers 400."""

    def _add_custom_filters(self, definition, form_field) -> None:
        name = f"cf_{definition.key}"
        if form_field is not None:
            lookup = "contains" if definition.field_type in TEXT_TYPES else "exact"
            if definition.field_type == FieldType.MULTI_SELECT:
                lookup = "contains"
            if definition.field_type in RANGE_TYPES:
                form_field = None  # compare the raw text through the field's own cleaner
            self.filters[name] = _CustomFilter(definition, lookup, form_field=form_field)
        if definition.field_type in RANGE_TYPES:
            for lookup in ("gte", "lte"):
                self.filters[f"{name}__{lookup}"] = _CustomFilter(definition, lookup)

    def filter_queryset(self, queryset):
        for name, value in list(self.form.cleaned_data.items()):
            try:
                queryset = self.filters[name].filter(queryset, value)
            except ValueError as error:
                raise exceptions.ValidationError({name: [str(error)]}) from error
        return queryset


class ApiCompanyFilter(ApiCustomFilters, CompanyFilter):
    pass


class ApiContactFilter(ApiCustomFilters, ContactFilter):
    pass


class ApiLeadFilter(ApiCustomFilters, LeadFilter):
    pass


class ApiDealFilter(ApiCustomFilters, DealFilter):
    pass


# --- Records ---------------------------------------------------------------------------------


class PlainRecordViewSet(RecordViewSet):
    """A record written by the plain create and update services."""

    def create_record(self, data: dict):
        return record_create(self.model, actor=self.request.user, data=data)

    def update_record(self, instance, data: dict):
        return record_update(instance, actor=self.request.user, data=data)


class CompanyViewSet(PlainRecordViewSet):
    model = Company
    serializer_class = CompanySerializer
    filterset_class = ApiCompanyFilter
    ordering_fields = ["id", "name", "created_at", "updated_at"]


class ContactViewSet(PlainRecordViewSet):
    model = Contact
    serializer_class = ContactSerializer
    filterset_class = ApiContactFilter
    ordering_fields = ["id", "last_name", "first_name", "created_at", "updated_at"]


class LeadViewSet(PlainRecordViewSet):
    model = Lead
    serializer_class = LeadSerializer
    filterset_class = ApiLeadFilter
    ordering_fields = ["id", "name", "score", "created_at", "updated_at"]

    @extend_schema(request=LeadQualifySerializer, responses=LeadSerializer)
    @action(detail=True, methods=["post"], permission_action="change")
    def qualify(self, request, pk=None):
        return self.transition(
            request,
            LeadQualifySerializer,
            lambda lead, data: services.lead_qualify(lead=lead, actor=request.user),
        )

    @extend_schema(request=LeadDisqualifySerializer, responses=LeadSerializer)
    @action(detail=True, methods=["post"], permission_action="change")
    def disqualify(self, request, pk=None):
        return self.transition(
            request,
            LeadDisqualifySerializer,
            lambda lead, data: services.lead_disqualify(
                lead=lead, actor=request.user, reason=data["reason"]
            ),
        )

    @extend_schema(request=LeadConvertSerializer, responses=LeadSerializer)
    @action(detail=True, methods=["post"], permission_action="change")
    def convert(self, request, pk=None):
        self.get_object()  # 404 first
        # Converting may create the contact, the company and the deal (as the page needs).
        if not request.user.has_perms(("crm.add_contact", "crm.add_company", "crm.add_deal")):
            raise exceptions.PermissionDenied
        return self.transition(request, LeadConvertSerializer, self._convert)

    def _convert(self, lead, data):
        """As the convert page: link the matches the user sees unless told to make new ones; a
        match hidden from the user is never linked, a new record is made instead."""
        user = self.request.user
        contact_match, company_match = services.conversion_matches(
            lead,
            contacts=access.visible(Contact, user),
            companies=access.visible(Company, user),
        )
        anyone_contact, anyone_company = services.conversion_matches(lead)
        contact = data.get("contact") or (None if data["new_contact"] else contact_match)
        company = data.get("company") or (None if data["new_company"] else company_match)
        services.lead_convert(
            lead=lead,
            actor=user,
            contact=contact,
            company=company,
            use_matches=False,
            new_contact=data["new_contact"]
            or (contact_match is None and anyone_contact is not None),
            new_company=data["new_company"]
            or (company_match is None and anyone_company is not None),
            create_deal=data["create_deal"],
            deal_name=data.get("deal_name", ""),
            amount=data.get("amount") or 0,
            pipeline=data.get("pipeline"),
        )


class DealViewSet(RecordViewSet):
    model = Deal
    serializer_class = DealSerializer
    filterset_class = ApiDealFilter
    select_related = ("pipeline", "stage")
    ordering_fields = [
        "id",
        "name",
        "amount",
        "expected_close_date",
        "stage_entered_at",
        "created_at",
        "updated_at",
    ]

    def get_serializer_class(self):
        return DealSerializer if self.action in ("list", "create") else DealDetailSerializer

    def base_queryset(self):
        queryset = super().base_queryset()
        if self.action != "list":
            queryset = queryset.prefetch_related("stage_changes")
        return queryset

    def create_record(self, data: dict):
        pipeline, stage = data.pop("pipeline", None), data.pop("stage", None)
        if pipeline is None and stage is not None:
            pipeline = stage.pipeline
        return services.deal_create(
            actor=self.request.user, data=data, pipeline=pipeline, stage=stage
        )

    def update_record(self, instance, data: dict):
        return record_update(instance, actor=self.request.user, data=data)

    @extend_schema(request=DealMoveSerializer, responses=DealDetailSerializer)
    @action(detail=True, methods=["post"], permission_action="change")
    def move(self, request, pk=None):
        return self.transition(
            request,
            DealMoveSerializer,
            lambda deal, data: services.deal_move_stage(
                deal=deal,
                stage=data["stage"],
                actor=request.user,
                lost_reason=data.get("lost_reason", ""),
            ),
        )


# --- Reference data (read) -------------------------------------------------------------------


class ReferenceViewSet(viewsets.ReadOnlyModelViewSet):
    """Configuration everyone with the `view` permission reads in full (no per-record rule)."""

    permission_classes = [RecordPermission]
    pagination_class = ApiCursorPagination
    filter_backends = [DjangoFilterBackend, filters.OrderingFilter]
    ordering = ["-id"]

    @property
    def model(self):
        return self.queryset.model


class PipelineViewSet(ReferenceViewSet):
    queryset = Pipeline.objects.all()
    serializer_class = PipelineSerializer
    ordering_fields = ["id", "name", "order"]
    filterset_fields = ["is_default"]


class StageViewSet(ReferenceViewSet):
    queryset = Stage.objects.all()
    serializer_class = StageSerializer
    ordering_fields = ["id", "name", "order"]
    filterset_fields = ["pipeline", "outcome"]


__all__ = [
    "CompanyViewSet",
    "ContactViewSet",
    "DealViewSet",
    "LeadViewSet",
    "PipelineViewSet",
    "StageViewSet",
]
