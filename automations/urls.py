from django.urls import path

from crm.views import section_placeholder

urlpatterns = [
    path("automations/", section_placeholder, {"section": "automations"}, name="automations"),
]
