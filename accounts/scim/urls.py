from django.urls import path, re_path

from accounts.scim import views

app_name = "scim"

urlpatterns = [
    path("Users", views.UsersView.as_view(), name="users"),
    path("Users/<str:pk>", views.UserView.as_view(), name="user"),
    path("Groups", views.GroupsView.as_view(), name="groups"),
    path("Groups/<str:pk>", views.GroupView.as_view(), name="group"),
    path("ServiceProviderConfig", views.DiscoveryView.as_view(document="config"), name="config"),
    path("ResourceTypes", views.DiscoveryView.as_view(document="types"), name="resource_types"),
    path("ResourceTypes/<str:pk>", views.DiscoveryView.as_view(document="types"), name="resource_type"),
    path("Schemas", views.DiscoveryView.as_view(document="schemas"), name="schemas"),
    path("Schemas/<str:pk>", views.DiscoveryView.as_view(document="schemas"), name="schema"),
    re_path(r"^.*$", views.NotFoundView.as_view(), name="not_found"),
]
