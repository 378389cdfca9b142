"""Resources the API only reads (plus explicit transitions): the conventions of api.base on a
ReadOnlyModelViewSet, so no create/update/delete route exists (nor is documented) for them."""

from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import filters, viewsets

from crm import access

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
