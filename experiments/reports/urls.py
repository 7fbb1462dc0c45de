from django.urls import path

from . import views

app_name = "reports"
urlpatterns = [
    path("", views.report_index, name="index"),
    path("experiments/<str:key>/", views.experiment_report, name="experiment"),
    path("program/", views.program_report, name="program"),
    path("assets/<str:name>", views.plotly_js, name="plotly-js"),
]
