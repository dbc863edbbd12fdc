from django.urls import path
from django.views.generic import TemplateView

app_name = "accounts"

urlpatterns = [
    path("password-reset/<uidb64>/<token>/", TemplateView.as_view(), name="password_reset_confirm"),
    path("login/", TemplateView.as_view(), name="login"),
]
