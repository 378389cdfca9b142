from django.urls import path

from . import views

urlpatterns = [
    path("goals/", views.goal_tree, name="goals"),
    path("goals/new/", views.goal_create, name="goal-new"),
    path("goals/mine/", views.my_goals, name="goals-mine"),
    path("goals/card/", views.goals_card, name="goals-card"),
    path("goals/<int:pk>/", views.goal_detail, name="goal"),
    path("goals/<int:pk>/edit/", views.goal_edit, name="goal-edit"),
    path("goals/<int:pk>/delete/", views.goal_delete, name="goal-delete"),
    path("goals/<int:pk>/split/", views.goal_split, name="goal-split"),
    path("goals/<int:pk>/recompute/", views.goal_recompute, name="goal-recompute"),
    path("goals/<int:pk>/targets/new/", views.target_create, name="target-new"),
    path("goals/<int:pk>/kpi-preview/", views.kpi_preview, name="goal-kpi-preview"),
    path("goals/targets/<int:pk>/edit/", views.target_edit, name="target-edit"),
    path("goals/targets/<int:pk>/delete/", views.target_delete, name="target-delete"),
    path("goals/targets/<int:pk>/value/", views.target_value, name="target-value"),
    path("goals/targets/<int:pk>/done/", views.target_done, name="target-done"),
]
