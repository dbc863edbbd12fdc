from django.urls import path

from bench import views

urlpatterns = [
    path("q1/<int:pk>/", views.q1, name="bench_q1"),
    path("floor/<int:pk>/", views.AuthenticatedFloor.as_view(), name="bench_floor"),
]
