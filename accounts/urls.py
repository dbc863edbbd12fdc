from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.sign_in, name="login"),
    path("logout/", views.sign_out, name="logout"),
    path("login/code/", views.sign_in_code, name="sign_in_code"),
    path("login/break-glass/<str:token>/", views.break_glass, name="break_glass"),
    path("oidc/authenticate/", views.oidc_sign_in, name="oidc_login"),
    path("oidc/callback/", views.oidc_callback, name="oidc_callback"),
    path("password-reset/", views.password_reset_request, name="password_reset"),
    path("password-reset/sent/", views.password_reset_done, name="password_reset_done"),
    # The link in reset emails and in invitations (services.invitation_send).
    path("password-reset/<uidb64>/<token>/", views.SetPasswordView.as_view(), name="password_reset_confirm"),
    path("profile/", views.profile, name="profile"),
    path("profile/second-factor/set-up/", views.second_factor_set_up, name="second_factor_set_up"),
    path("profile/second-factor/remove/", views.second_factor_remove, name="second_factor_remove"),
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/bell/", views.notification_bell, name="notification_bell"),
    path("notifications/read-all/", views.notification_read_all, name="notifications_read_all"),
    path("notifications/<int:pk>/read/", views.notification_read, name="notification_read"),
    path("notifications/<int:pk>/open/", views.notification_open, name="notification_open"),
]
