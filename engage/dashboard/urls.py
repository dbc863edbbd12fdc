from django.urls import path

from engage.dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("departments/<slug:slug>/", views.department, name="department"),
    path("figures/<slug:key>/", views.drill, name="drill"),
    path("figures/<slug:key>/rows.csv", views.drill_csv, name="drill_csv"),
    path("export/<slug:what>.csv", views.export_csv, name="export"),
    path("leaderboard/", views.leaderboard, name="leaderboard"),
    path("leaderboard/leave/", views.leaderboard_leave, name="leaderboard_leave"),
    path("leaderboard/join/", views.leaderboard_join, name="leaderboard_join"),
]
