"""Users and teams, read only (issue 12): the people crm.access.teammates shows the user (an
admin: every active user) and the teams crm.access.visible_teams shows (an admin: all)."""

import django_filters
from rest_framework import serializers

from crm.access import teammates, visible_teams
from crm.models import Team, User

from .base import FieldsMixin
from .reading import ReadOnlyRecordViewSet


class UserSerializer(FieldsMixin, serializers.ModelSerializer):
    roles = serializers.ListField(source="role_names", child=serializers.CharField())

    class Meta:
        model = User
        fields = ["id", "username", "first_name", "last_name", "email", "roles", "teams"]
        read_only_fields = fields


class TeamSerializer(FieldsMixin, serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ["id", "name", "manager", "members"]
        read_only_fields = fields


class UserFilter(django_filters.FilterSet):
    # Only teams the user sees: another team's id is "not a choice", as an unknown one.
    teams = django_filters.ModelChoiceFilter(queryset=lambda request: visible_teams(request.user))

    class Meta:
        model = User
        fields = ["teams"]


class UserViewSet(ReadOnlyRecordViewSet):
    """The user's teammates (themselves included)."""

    model = User
    serializer_class = UserSerializer
    filterset_class = UserFilter
    ordering_fields = ["id", "username", "last_name"]
    prefetch_related = ("groups", "teams")

    def readable(self, queryset):
        return queryset & teammates(self.request.user)


class TeamViewSet(ReadOnlyRecordViewSet):
    """The user's teams (those they belong to or manage)."""

    model = Team
    serializer_class = TeamSerializer
    ordering_fields = ["id", "name"]
    prefetch_related = ("members",)

    def readable(self, queryset):
        return queryset & visible_teams(self.request.user)
