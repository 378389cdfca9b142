"""The sales records' resources (api/records.py)."""

from rest_framework.routers import DefaultRouter

from . import records

router = DefaultRouter()
router.register("companies", records.CompanyViewSet, basename="api-company")
router.register("contacts", records.ContactViewSet, basename="api-contact")
router.register("leads", records.LeadViewSet, basename="api-lead")
router.register("deals", records.DealViewSet, basename="api-deal")
router.register("pipelines", records.PipelineViewSet, basename="api-pipeline")
router.register("stages", records.StageViewSet, basename="api-stage")

urlpatterns = router.urls
