"""Analyst endpoints: experiment list, experiment report and program report JSON.

Staff sessions only, never storefront keys: a storefront key is not a session, so it gets 403.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions
from rest_framework.authentication import SessionAuthentication
from rest_framework.response import Response
from rest_framework.views import APIView

from experiments.domain.experiment_state import STATE_LABELS
from experiments.models import Experiment
from experiments.selectors.program_report import program_report_build
from experiments.selectors.reports import experiment_list, report_build

from .report_schemas import ExperimentReportSerializer, ExperimentSummarySerializer, ProgramReportSerializer
from .schemas import ErrorSerializer

# No session, or a user without the view permission: 403 (session auth sends no challenge, so never 401).
REPORT_ERRORS = {403: ErrorSerializer}


class CanViewExperiments(permissions.BasePermission):
    message = "Reports are for analysts and merchandisers."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm("experiments.view_experiment"))


class ReportApi(APIView):
    authentication_classes = [SessionAuthentication]
    permission_classes = [CanViewExperiments]


class ExperimentListApi(ReportApi):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "state", str, enum=list(STATE_LABELS), description="Only experiments in this state."
            )
        ],
        responses={
            200: ExperimentSummarySerializer(many=True),
            **REPORT_ERRORS,
        },
    )
    def get(self, request):
        state = request.query_params.get("state")
        return Response(experiment_list(state=state if state in STATE_LABELS else None))


class ExperimentReportApi(ReportApi):
    @extend_schema(
        responses={
            200: ExperimentReportSerializer,
            **REPORT_ERRORS,
            404: ErrorSerializer,
        }
    )
    def get(self, request, key: str):
        experiment = get_object_or_404(Experiment.objects.select_related("slot", "winner"), key=key)
        return Response(report_build(experiment=experiment))


class ProgramReportApi(ReportApi):
    @extend_schema(
        responses={
            200: ProgramReportSerializer,
            **REPORT_ERRORS,
        }
    )
    def get(self, request):
        return Response(program_report_build())
