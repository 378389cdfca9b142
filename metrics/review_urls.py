from django.urls import path

from . import review_views

urlpatterns = [
    path("", review_views.reviews, name="reviews"),
    path("email/", review_views.review_email, name="review-email"),
]
