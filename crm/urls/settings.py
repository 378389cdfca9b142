"""The admins' settings area (crm/views/settings.py; the KPI bands and health weights are in
metrics/urls.py under the same /settings/ prefix). Every name here is in
crm.access.ROUTE_PERMISSIONS with an admin-only permission."""

from django.urls import path

from crm.views import settings

urlpatterns = [
    path("settings/", settings.index, name="settings"),
    path("settings/pipelines/", settings.pipelines, name="settings-pipelines"),
    path("settings/pipelines/<int:pk>/", settings.pipeline, name="settings-pipeline"),
    path(
        "settings/pipelines/<int:pk>/stages/new/",
        settings.stage_create,
        name="settings-pipeline-stage-create",
    ),
    path(
        "settings/pipelines/<int:pk>/stages/reorder/",
        settings.stages_reorder,
        name="settings-pipeline-stages-reorder",
    ),
    path("settings/stages/<int:pk>/", settings.stage, name="settings-stage"),
    path("settings/stages/<int:pk>/move/", settings.stage_move, name="settings-stage-move"),
    path("settings/stages/<int:pk>/delete/", settings.stage_delete, name="settings-stage-delete"),
    path("settings/fields/", settings.fields, name="settings-fields"),
    path("settings/fields/new/", settings.field_create, name="settings-field-create"),
    path("settings/fields/reorder/", settings.fields_reorder, name="settings-fields-reorder"),
    path("settings/fields/<int:pk>/", settings.field_edit, name="settings-field"),
    path("settings/users/", settings.users, name="settings-users"),
    path("settings/users/invite/", settings.user_invite, name="settings-user-invite"),
    path("settings/users/<int:pk>/", settings.user_edit, name="settings-user"),
    path(
        "settings/users/<int:pk>/invite-again/",
        settings.user_invite_again,
        name="settings-user-invite-again",
    ),
    path(
        "settings/users/<int:pk>/deactivate/",
        settings.user_deactivate,
        name="settings-user-deactivate",
    ),
    path("settings/teams/", settings.teams, name="settings-teams"),
    path("settings/teams/<int:pk>/", settings.team_edit, name="settings-team"),
    path("settings/sla/", settings.sla, name="settings-sla"),
    path("settings/support/", settings.support_routing, name="settings-support"),
]
