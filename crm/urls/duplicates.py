"""Possible duplicates of contacts, companies and leads, and merging two records into one."""

from django.urls import path

from crm.views import duplicates

PLURALS = {"contact": "contacts", "company": "companies", "lead": "leads"}

urlpatterns = [
    route
    for kind, plural in PLURALS.items()
    for route in (
        path(
            f"{plural}/duplicates/",
            duplicates.duplicate_list,
            {"kind": kind},
            name=f"{kind}-duplicates",
        ),
        path(f"{plural}/<int:pk>/merge/", duplicates.merge, {"kind": kind}, name=f"{kind}-merge"),
    )
]
