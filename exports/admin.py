"""Large exports, read only: they are started from the lists and written by their task."""

from django.contrib import admin

from .models import ExportJob


@admin.register(ExportJob)
class ExportJobAdmin(admin.ModelAdmin):
    list_display = ("created_at", "owner", "source", "format", "state", "row_count", "expires_at")
    list_filter = ("state", "format")
    list_select_related = ("owner",)
    search_fields = ("owner__username", "source")
    raw_id_fields = ("owner",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the cleanup deletes a job with its file (exports.services)
