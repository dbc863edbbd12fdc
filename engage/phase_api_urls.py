from django.urls import path

from engage import phase_apis

app_name = "phase_api"

urlpatterns = [
    path("phase/", phase_apis.PhaseApi.as_view(), name="phase"),
    path("phase/departments/<slug:slug>/", phase_apis.PhaseDepartmentApi.as_view(), name="department"),
    path("phase/history/", phase_apis.PhaseHistoryApi.as_view(), name="history"),
    path("phase/config/", phase_apis.PhaseConfigApi.as_view(), name="config"),
    path("phase/recompute/", phase_apis.PhaseRecomputeApi.as_view(), name="recompute"),
    path("participation/", phase_apis.ParticipationApi.as_view(), name="participation"),
]
