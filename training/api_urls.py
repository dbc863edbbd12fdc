from django.urls import path

from training import apis

app_name = "training_api"

urlpatterns = [
    path("courses/", apis.CourseListApi.as_view(), name="courses"),
    path("courses/<int:id>/", apis.CourseDetailApi.as_view(), name="course"),
    path("courses/<int:id>/content/", apis.CourseContentApi.as_view(), name="course_content"),
    path("courses/<int:id>/publish/", apis.CoursePublishApi.as_view(), name="course_publish"),
    path("courses/<int:id>/new-version/", apis.CourseNewVersionApi.as_view(), name="course_new_version"),
    path("courses/<int:id>/archive/", apis.CourseArchiveApi.as_view(), name="course_archive"),
    path("courses/<int:id>/report/", apis.CourseReportApi.as_view(), name="course_report"),
    path("courses/<int:id>/attempts/", apis.AttemptApi.as_view(), name="attempts"),
    path("courses/<int:id>/progress/", apis.ProgressApi.as_view(), name="progress"),
    path("users/me/certifications/", apis.MyCertificationsApi.as_view(), name="my_certifications"),
    path("users/me/training/", apis.MyTrainingApi.as_view(), name="my_training"),
]
