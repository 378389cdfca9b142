from django.urls import path

from . import views

urlpatterns = [
    path("automations/", views.rule_list, name="automations"),
    path("automations/new/", views.rule_new, name="automation-rule-new"),
    path("automations/runs/", views.my_runs, name="automation-runs"),
    path(
        "automations/runs/<slug:record_type>/<int:pk>/",
        views.record_runs,
        name="automation-record-runs",
    ),
    path("automations/<int:pk>/", views.rule_detail, name="automation-rule"),
    path("automations/<int:pk>/edit/", views.rule_edit, name="automation-rule-edit"),
    path("automations/<int:pk>/toggle/", views.rule_toggle, name="automation-rule-toggle"),
    path("automations/<int:pk>/duplicate/", views.rule_duplicate, name="automation-rule-duplicate"),
    path("automations/<int:pk>/dry-run/", views.rule_dry_run, name="automation-rule-dry-run"),
]
