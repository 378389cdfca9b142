"""Automation rules and their runs, read only (issue 12): rules for managers and admins (the
role's view permission and the automations app's rule), runs on the records the user sees."""

import django_filters
from rest_framework import serializers

from automations.models import Rule, RuleRun

from .base import FieldsMixin
from .reading import ReadOnlyRecordViewSet, visible_choice


class RuleSerializer(FieldsMixin, serializers.ModelSerializer):
    class Meta:
        model = Rule
        fields = [
            "id",
            "name",
            "description",
            "enabled",
            "trigger",
            "conditions",
            "actions",
            "record_type",
            "version",
            "next_run_at",
            "created_by",
            "updated_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class RuleFilter(django_filters.FilterSet):
    class Meta:
        model = Rule
        fields = ["enabled", "record_type"]


class RuleViewSet(ReadOnlyRecordViewSet):
    model = Rule
    serializer_class = RuleSerializer
    filterset_class = RuleFilter
    ordering_fields = ["id", "name", "updated_at"]


class RuleRunSerializer(FieldsMixin, serializers.ModelSerializer):
    class Meta:
        model = RuleRun
        fields = [
            "id",
            "rule",
            "rule_version",
            "event",
            "tick",
            "record_type",
            "record_id",
            "status",
            "actions",
            "error",
            "duration_ms",
            "depth",
            "created_at",
        ]
        read_only_fields = fields


class RuleRunFilter(django_filters.FilterSet):
    rule = visible_choice(Rule)

    class Meta:
        model = RuleRun
        fields = ["rule", "status", "record_type", "record_id"]


class RuleRunViewSet(ReadOnlyRecordViewSet):
    """Runs on the records the user sees (managers and admins: all)."""

    model = RuleRun
    serializer_class = RuleRunSerializer
    filterset_class = RuleRunFilter
    ordering_fields = ["id", "created_at"]
