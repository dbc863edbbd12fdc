from django.urls import path

from training import views

app_name = "training"

urlpatterns = [
    path("", views.my_training, name="my"),
    path("courses/<int:pk>/", views.course_player, name="course"),
    path("courses/<int:pk>/modules/<int:module_pk>/done/", views.module_done, name="module_done"),
    path("courses/<int:pk>/quiz/", views.quiz, name="quiz"),
    path("attempts/<int:pk>/", views.attempt_result, name="attempt"),
    path("manage/", views.manage, name="manage"),
    path("manage/new/", views.course_new, name="course_new"),
    path("manage/<int:pk>/edit/", views.course_edit, name="course_edit"),
    path("manage/<int:pk>/new-version/", views.course_new_version, name="course_new_version"),
    path("manage/<int:pk>/publish/", views.course_publish, name="course_publish"),
    path("manage/<int:pk>/archive/", views.course_archive, name="course_archive"),
    path("manage/<int:pk>/report/", views.course_report, name="course_report"),
]
