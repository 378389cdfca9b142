"""Web forms: the admins' pages under /settings/forms/ (admins only, crm.access
ROUTE_PERMISSIONS) and the public hosted page and cross-origin post under /f/ (PUBLIC_ROUTES)."""

from django.urls import path

from . import settings_views, views

urlpatterns = [
    path("settings/forms/", settings_views.form_list, name="settings-forms"),
    path("settings/forms/<int:pk>/", settings_views.form_edit, name="settings-form"),
    path(
        "settings/forms/<int:pk>/submissions/",
        settings_views.form_submissions,
        name="settings-form-submissions",
    ),
    path("f/<slug:form_slug>/", views.hosted_page, name="webform-page"),
    path("f/<slug:form_slug>/post/", views.cross_origin_post, name="webform-post"),
]
