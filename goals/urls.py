from django.urls import path

from crm.views import section_placeholder

urlpatterns = [
    path("goals/", section_placeholder, {"section": "goals"}, name="goals"),
]
