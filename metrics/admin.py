from django.contrib import admin

from .models import KPISnapshot


@admin.register(KPISnapshot)
class KPISnapshotAdmin(admin.ModelAdmin):
    """Snapshots are facts written by the nightly fill: browsable, never edited by hand."""

    list_display = [
        "kpi",
        "grain",
        "period_start",
        "segment_field",
        "segment_value",
        "value",
        "computed_at",
    ]
    list_filter = ["grain", "kpi", "segment_field"]
    search_fields = ["kpi", "segment_value"]
    date_hierarchy = "period_start"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
