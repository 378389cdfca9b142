"""Business templates in the admins' settings area; every name is in
crm.access.ROUTE_PERMISSIONS with the settings area's admin-only permissions."""

from django.urls import path

from . import views

urlpatterns = [
    path("settings/templates/", views.template_list, name="settings-templates"),
    path("settings/templates/<slug:slug>/", views.template_detail, name="settings-template"),
]
