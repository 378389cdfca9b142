"""Placeholder routes until the pages are built."""

from django.urls import path

from crm import views

urlpatterns = [
    path("dashboards/", views.section_placeholder, {"section": "dashboards"}, name="dashboards"),
]
