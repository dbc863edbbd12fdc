from django.urls import path

from accounts import apis

app_name = "accounts_api"

urlpatterns = [
    path("auth/token/", apis.TokenApi.as_view(), name="token"),
    path("auth/password-reset/", apis.PasswordResetApi.as_view(), name="password_reset"),
    path("departments/", apis.DepartmentListApi.as_view(), name="departments"),
    path("departments/<slug:slug>/", apis.DepartmentDetailApi.as_view(), name="department"),
    path("topics/", apis.TopicListApi.as_view(), name="topics"),
    path("topics/<slug:slug>/", apis.TopicDetailApi.as_view(), name="topic"),
    path("users/", apis.UserListApi.as_view(), name="users"),
    path("users/me/", apis.MeApi.as_view(), name="me"),
    path("users/<int:id>/", apis.UserDetailApi.as_view(), name="user"),
    path("users/<int:id>/deactivate/", apis.UserDeactivateApi.as_view(), name="user_deactivate"),
    path("users/<int:id>/export/", apis.UserExportApi.as_view(), name="user_export"),
    path("users/<int:id>/erase/", apis.UserEraseApi.as_view(), name="user_erase"),
    path("notifications/", apis.NotificationListApi.as_view(), name="notifications"),
    path("notifications/read-all/", apis.NotificationReadAllApi.as_view(), name="notifications_read_all"),
    path("notifications/<int:id>/read/", apis.NotificationReadApi.as_view(), name="notification_read"),
]
