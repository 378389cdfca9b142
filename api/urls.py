"""`/api/`: the records' resources and the numbers' resources, each in its own module."""

from django.urls import include, path

urlpatterns = [
    path("", include("api.urls_records")),
    path("", include("api.urls_metrics")),
]
