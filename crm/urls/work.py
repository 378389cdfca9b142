"""Placeholder routes until the pages are built."""

from django.urls import path

from crm import views

urlpatterns = [
    path("tasks/", views.section_placeholder, {"section": "tasks"}, name="tasks"),
]
