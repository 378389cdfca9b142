"""Resources the API only reads (plus explicit transitions): the conventions of api.base on a
ReadOnlyModelViewSet, so no create/update/delete route exists (nor is documented) for them."""

import django_filters
from django import forms
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import filters, viewsets

from crm import access
from crm.models import Team

from .base import (
    ApiCursorPagination,
    ConditionalMixin,
    IdempotencyMixin,
    RecordPermission,
    RecordViewSet,
)


class ReadOnlyRecordViewSet(ConditionalMixin, IdempotencyMixin, viewsets.ReadOnlyModelViewSet):
    """Lists and details through `crm.access.visible`, the role's `view` permission, cursor
    pages, `?fields=`, ordering and ETags; actions use `transition` as on RecordViewSet."""

    model = None
    permission_action: str | None = None
    permission_classes = [RecordPermission]
    pagination_class = ApiCursorPagination
    filter_backends = [DjangoFilterBackend, filters.OrderingFilter]
    ordering_fields: list[str] = ["id"]
    ordering = ["-id"]
    select_related: tuple[str, ...] = ()
    prefetch_related: tuple = ()

    # The same reads and transitions as the writable resources.
    base_queryset = RecordViewSet.base_queryset
    detail_data = RecordViewSet.detail_data
    transition = RecordViewSet.transition

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            # The schema generator asks with no user: the model is all it needs.
            return self.base_queryset().none()
        return self.readable(self.base_queryset())

    def readable(self, queryset):
        """The rows the user reads: crm.access's rule unless the resource has another."""
        return access.visible(queryset, self.request.user)


def visible_choice(model, field_name: str | None = None) -> django_filters.ModelChoiceFilter:
    """A filter on a related record offering only those the user sees: another team's id is
    "not a choice" (400), as an unknown one, so a filter never tells which ids exist.

    Its form field (the browsable API's filter form) is an id box, not a list of the choices:
    a list of every contact an agent reads made /api/activities/ a 29 MB page taking 40 s."""

    def choices(request):
        if request is None or not request.user.is_authenticated:
            return model._default_manager.none()
        return access.visible(model, request.user)

    return django_filters.ModelChoiceFilter(
        queryset=choices, field_name=field_name, widget=forms.NumberInput(attrs={"min": 1})
    )


def visible_team_choice() -> django_filters.ModelChoiceFilter:
    """A team filter offering the teams crm.access.visible_teams shows the user."""

    def choices(request):
        if request is None or not request.user.is_authenticated:
            return Team.objects.none()
        return access.visible_teams(request.user)

    return django_filters.ModelChoiceFilter(queryset=choices)
