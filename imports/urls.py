from django.urls import path

from . import views
from .models import ImportType

# One upload route per record type, so crm.access.ROUTE_PERMISSIONS names each type's
# permissions; a job's own pages are its importer's.
urlpatterns = [
    path("imports/", views.imports_home, name="imports"),
    *(
        path(
            f"imports/{record_type}/new/",
            views.import_new,
            {"record_type": record_type},
            name=f"import-{record_type}",
        )
        for record_type in ImportType.values
    ),
    path("imports/<int:pk>/", views.import_job, name="import-job"),
    path("imports/<int:pk>/progress/", views.import_progress, name="import-progress"),
    path("imports/<int:pk>/failed-rows.csv", views.import_failed_rows, name="import-failed-rows"),
    path("imports/<int:pk>/undo/", views.import_undo, name="import-undo"),
]
