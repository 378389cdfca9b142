"""Read-only views of the run log for support staff; rules are built in the app's builder,
whose services are the only write path."""

from django.contrib import admin

from .models import RuleRun, WebhookAttempt


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RuleRun)
class RuleRunAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "rule", "rule_version", "status", "record_type", "record_id")
    list_filter = ("status", "record_type")
    list_select_related = ("rule",)
    search_fields = ("rule__name", "error")
    raw_id_fields = ("rule", "event")


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(ReadOnlyAdmin):
    list_display = ("at", "url", "attempt", "status_code", "duration_ms")
    raw_id_fields = ("run",)
