from django.urls import path

from engage.phase import apis

app_name = "phase_api"

urlpatterns = [
    path("phase/", apis.PhaseApi.as_view(), name="phase"),
    path("phase/departments/<slug:slug>/", apis.PhaseDepartmentApi.as_view(), name="department"),
    path("phase/history/", apis.PhaseHistoryApi.as_view(), name="history"),
    path("phase/config/", apis.PhaseConfigApi.as_view(), name="config"),
    path("phase/recompute/", apis.PhaseRecomputeApi.as_view(), name="recompute"),
    path("participation/", apis.ParticipationApi.as_view(), name="participation"),
]
