from django.urls import path

from . import views

urlpatterns = [
    path("exports/", views.export_jobs, name="exports"),
    path("exports/start/", views.export_start, name="export-start"),
    path("exports/<int:pk>/download/", views.export_download, name="export-download"),
    path("exports/lists/<slug:source>/", views.export_list, name="export-list"),
    path("exports/all/<slug:record_type>/", views.export_type, name="export-type"),
]
