"""Goals in the admin, to read: goals are set and changed on the goal pages, through
goals.services (the only write path), so progress and history stay consistent."""

from django.contrib import admin

from .models import Goal, GoalProgress, Target, TargetUpdate


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class TargetInline(admin.TabularInline):
    model = Target
    fields = ("name", "kind", "kpi_key", "weight", "start_value", "target_value", "progress")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Goal)
class GoalAdmin(ReadOnlyAdmin):
    list_display = ("name", "scope", "owner", "start_date", "end_date", "status", "progress")
    list_filter = ("status", "scope", "grain")
    search_fields = ("name",)
    list_select_related = ("owner",)
    inlines = [TargetInline]


@admin.register(TargetUpdate)
class TargetUpdateAdmin(ReadOnlyAdmin):
    list_display = ("target", "value", "by", "at")
    list_select_related = ("target", "by")


@admin.register(GoalProgress)
class GoalProgressAdmin(ReadOnlyAdmin):
    list_display = ("goal", "day", "progress", "forecast")
    list_select_related = ("goal",)
    date_hierarchy = "day"
