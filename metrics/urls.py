from django.urls import include, path

from . import settings_views, views

urlpatterns = [
    path("dashboards/", views.index, name="dashboards"),
    path("dashboards/kpi/<slug:key>/", views.kpi_detail, name="kpi"),
    path("dashboards/kpi/<slug:key>/export.csv", views.kpi_export, name="kpi-export"),
    path("dashboards/custom/new/", views.dashboard_create, name="dashboard-create"),
    path("dashboards/custom/<int:pk>/", views.custom_dashboard, name="custom-dashboard"),
    path("dashboards/custom/<int:pk>/edit/", views.dashboard_edit, name="dashboard-edit"),
    path("dashboards/custom/<int:pk>/delete/", views.dashboard_delete, name="dashboard-delete"),
    path("dashboards/custom/<int:pk>/cards/add/", views.card_add, name="dashboard-card-add"),
    path(
        "dashboards/custom/<int:pk>/cards/reorder/",
        views.cards_reorder,
        name="dashboard-cards-reorder",
    ),
    path(
        "dashboards/custom/<int:pk>/cards/<int:card_pk>/remove/",
        views.card_remove,
        name="dashboard-card-remove",
    ),
    path(
        "dashboards/custom/<int:pk>/cards/<int:card_pk>/move/",
        views.card_move,
        name="dashboard-card-move",
    ),
    # The admins' settings area (crm/urls/settings.py has the rest of it).
    path("settings/kpi-bands/", settings_views.kpi_bands, name="settings-kpi-bands"),
    path("settings/kpi-bands/<slug:key>/", settings_views.kpi_band, name="settings-kpi-band"),
    path("settings/health/", settings_views.health, name="settings-health"),
    path("reviews/", include("metrics.review_urls")),
    path("alerts/", include("metrics.alert_urls")),
    path("data-quality/", include("metrics.quality_urls")),
    # Last: a ready-made dashboard by its slug (executive, sales, support, retention, ...).
    path("dashboards/<slug:slug>/", views.dashboard, name="dashboard"),
]
