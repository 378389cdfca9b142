from django.urls import path

from . import quality_views

urlpatterns = [
    path("", quality_views.quality_page, name="data-quality"),
    path("card/", quality_views.quality_card, name="data-quality-card"),
]
