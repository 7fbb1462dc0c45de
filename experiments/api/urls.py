from django.urls import path

from .report_views import ExperimentListApi, ExperimentReportApi, ProgramReportApi
from .storefront_views import AssignmentCreateApi, EventBatchApi, ItemBatchApi

urlpatterns = [
    path("assignments", AssignmentCreateApi.as_view(), name="assignments"),
    path("events", EventBatchApi.as_view(), name="events"),
    path("items", ItemBatchApi.as_view(), name="items"),
    path("experiments/", ExperimentListApi.as_view(), name="experiment-list"),
    path("experiments/<str:key>/report", ExperimentReportApi.as_view(), name="experiment-report"),
    path("program/report", ProgramReportApi.as_view(), name="program-report"),
]
