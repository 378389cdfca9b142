"""Placeholder routes until the pages are built."""

from django.urls import path

from crm import views

urlpatterns = [
    path("deals/", views.section_placeholder, {"section": "deals"}, name="deals"),
]
