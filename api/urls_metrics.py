"""The support desk, work, people and numbers resources under /api/ (issue 12). Route names
start with `api-` so none shadows a page's (the pages have their own `ticket-detail`)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import automations, goals, numbers, people, reference, support, work

router = SimpleRouter()
router.register("tickets", support.TicketViewSet, basename="api-ticket")
router.register("tasks", work.TaskViewSet, basename="api-task")
router.register("activities", work.ActivityViewSet, basename="api-activity")
router.register("users", people.UserViewSet, basename="api-user")
router.register("teams", people.TeamViewSet, basename="api-team")
router.register("survey-answers", support.SurveyAnswerViewSet, basename="api-survey-answer")
router.register("articles", support.ArticleViewSet, basename="api-article")
router.register("custom-fields", reference.CustomFieldViewSet, basename="api-custom-field")
router.register("subscriptions", reference.SubscriptionViewSet, basename="api-subscription")
router.register("expenses", reference.ExpenseViewSet, basename="api-expense")
router.register("goals", goals.GoalViewSet, basename="api-goal")
router.register("automation-rules", automations.RuleViewSet, basename="api-automation-rule")
router.register("automation-runs", automations.RuleRunViewSet, basename="api-automation-run")

urlpatterns = [
    path("kpis/", numbers.KPIListView.as_view(), name="api-kpi-list"),
    path("kpis/<slug:key>/", numbers.KPIValueView.as_view(), name="api-kpi-detail"),
    path("kpi-snapshots/", numbers.SnapshotListView.as_view(), name="api-kpi-snapshot-list"),
    *router.urls,
]
