"""Placeholder routes until the pages are built."""

from django.urls import path

from crm import views

urlpatterns = [
    path("leads/", views.section_placeholder, {"section": "leads"}, name="leads"),
    path("contacts/", views.section_placeholder, {"section": "contacts"}, name="contacts"),
    path("companies/", views.section_placeholder, {"section": "companies"}, name="companies"),
]
