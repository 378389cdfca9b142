"""Placeholder routes until the pages are built."""

from django.urls import path

from crm import views

urlpatterns = [
    path("tickets/", views.section_placeholder, {"section": "tickets"}, name="tickets"),
]
