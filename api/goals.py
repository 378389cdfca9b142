"""Goals and their progress, read only (issue 12): the goals crm.access shows the user (the
goals app's rule), each with its targets' stored progress, as the goal pages show them."""

import django_filters
from rest_framework import serializers

from crm.models import User
from goals.models import Goal, Target

from .base import FieldsMixin
from .reading import ReadOnlyRecordViewSet, visible_choice, visible_team_choice


class TargetSerializer(serializers.ModelSerializer):
    class Meta:
        model = Target
        fields = [
            "id",
            "name",
            "kind",
            "weight",
            "direction",
            "kpi_key",
            "segment_field",
            "segment_value",
            "start_value",
            "target_value",
            "current_value",
            "progress",
            "forecast_value",
            "forecast_progress",
            "pipeline_progress",
            "done_at",
        ]
        read_only_fields = fields


class GoalSerializer(FieldsMixin, serializers.ModelSerializer):
    targets = TargetSerializer(many=True, read_only=True)

    class Meta:
        model = Goal
        fields = [
            "id",
            "name",
            "owner",
            "scope",
            "team",
            "person",
            "grain",
            "start_date",
            "end_date",
            "parent",
            "weight",
            "status",
            "progress",
            "forecast",
            "pipeline_share",
            "health",
            "computed_at",
            "targets",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class GoalFilter(django_filters.FilterSet):
    team = visible_team_choice()
    person = visible_choice(User)
    parent = visible_choice(Goal)

    class Meta:
        model = Goal
        fields = ["scope", "status", "grain", "team", "person", "parent"]


class GoalViewSet(ReadOnlyRecordViewSet):
    """Goals the user sees, with their targets' progress (as last computed)."""

    model = Goal
    serializer_class = GoalSerializer
    filterset_class = GoalFilter
    ordering_fields = ["id", "start_date", "end_date", "progress"]
    prefetch_related = ("targets",)
