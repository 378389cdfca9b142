"""Read-only reference resources (issue 12): custom field definitions, subscriptions and
expenses. Custom field definitions and expenses have no per-record rule (the role's view
permission decides: expenses are the managers'); subscriptions follow their company."""

import django_filters
from rest_framework import serializers

from crm.models import Company, CustomField, Expense, Subscription
from crm.services.custom_field_definitions import FIELDS as DEFINITION_FIELDS

from .base import FieldsMixin
from .reading import ReadOnlyRecordViewSet, visible_choice


class CustomFieldSerializer(FieldsMixin, serializers.ModelSerializer):
    class Meta:
        model = CustomField
        fields = ["id", *DEFINITION_FIELDS]
        read_only_fields = fields


class CustomFieldFilter(django_filters.FilterSet):
    class Meta:
        model = CustomField
        fields = ["record_type", "field_type", "is_active"]


class CustomFieldViewSet(ReadOnlyRecordViewSet):
    """The custom fields of each record type: what a record's `custom` object may hold."""

    model = CustomField
    serializer_class = CustomFieldSerializer
    filterset_class = CustomFieldFilter
    ordering_fields = ["id", "record_type", "order"]

    def readable(self, queryset):
        return queryset


class SubscriptionSerializer(FieldsMixin, serializers.ModelSerializer):
    class Meta:
        model = Subscription
        fields = [
            "id",
            "company",
            "plan_name",
            "monthly_value",
            "currency",
            "start_date",
            "end_date",
            "term_end",
            "status",
            "cancelled_at",
            "renewal_of",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class SubscriptionFilter(django_filters.FilterSet):
    company = visible_choice(Company)

    class Meta:
        model = Subscription
        fields = ["company", "status", "currency"]


class SubscriptionViewSet(ReadOnlyRecordViewSet):
    """Subscriptions of the companies the user sees."""

    model = Subscription
    serializer_class = SubscriptionSerializer
    filterset_class = SubscriptionFilter
    ordering_fields = ["id", "start_date", "monthly_value"]


class ExpenseSerializer(FieldsMixin, serializers.ModelSerializer):
    class Meta:
        model = Expense
        fields = [
            "id",
            "spent_on",
            "amount",
            "currency",
            "category",
            "description",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ExpenseFilter(django_filters.FilterSet):
    spent_from = django_filters.DateFilter(field_name="spent_on", lookup_expr="gte")
    spent_to = django_filters.DateFilter(field_name="spent_on", lookup_expr="lte")

    class Meta:
        model = Expense
        fields = ["category", "currency"]


class ExpenseViewSet(ReadOnlyRecordViewSet):
    """Sales and marketing spend (what CAC divides): managers and admins."""

    model = Expense
    serializer_class = ExpenseSerializer
    filterset_class = ExpenseFilter
    ordering_fields = ["id", "spent_on", "amount"]

    def readable(self, queryset):
        return queryset
