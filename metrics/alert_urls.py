from django.urls import path

from . import alert_views

urlpatterns = [
    path("", alert_views.alert_list, name="kpi-alerts"),
    path("card/", alert_views.alert_card, name="kpi-alerts-card"),
    path("<int:pk>/expected/", alert_views.alert_mark_expected, name="kpi-alert-expected"),
]
