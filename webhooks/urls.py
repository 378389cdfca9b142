"""The webhook pages of the admins' settings area (every name is in access.ROUTE_PERMISSIONS)."""

from django.urls import path

from . import views

urlpatterns = [
    path("settings/webhooks/", views.subscriptions, name="settings-webhooks"),
    path("settings/webhooks/<int:pk>/", views.subscription, name="settings-webhook"),
    path("settings/webhooks/<int:pk>/pause/", views.pause, name="settings-webhook-pause"),
    path("settings/webhooks/<int:pk>/test/", views.send_test, name="settings-webhook-test"),
]
