from django.urls import path

from content import views

app_name = "content"

urlpatterns = [
    path("messages/", views.message_list, name="message_list"),
    path("messages/manage/", views.message_manage, name="message_manage"),
    path("messages/new/", views.message_create, name="message_create"),
    path("messages/preview/", views.message_preview, name="message_preview"),
    path("messages/usage/", views.usage, name="usage"),
    path("messages/<int:pk>/", views.message_detail, name="message_detail"),
    path("messages/<int:pk>/edit/", views.message_edit, name="message_edit"),
    path("messages/<int:pk>/share/", views.message_share, name="message_share"),
    path(
        "messages/<int:pk>/<str:action>/",
        views.message_action,
        name="message_action",
    ),
    path("review/", views.review_queue, name="review_queue"),
    # Share links are public: visitors from outside follow them.
    path("s/<slug:code>", views.share_redirect, name="share_redirect"),
    path("s/<slug:code>/message/", views.share_landing, name="share_landing"),
]

urlpatterns += [
    path("toolkits/", views.toolkit_list, name="toolkit_list"),
    path("toolkits/new/", views.toolkit_form, name="toolkit_create"),
    path("toolkits/<int:pk>/", views.toolkit_detail, name="toolkit_detail"),
    path("toolkits/<int:pk>/edit/", views.toolkit_form, name="toolkit_edit"),
    path("toolkits/<int:pk>/items/", views.toolkit_item_add, name="toolkit_item_add"),
    path("toolkits/<int:pk>/items/<int:item_id>/open/", views.toolkit_item_open, name="toolkit_item_open"),
    path("toolkits/<int:pk>/items/<int:item_id>/<str:change>/", views.toolkit_item_change, name="toolkit_item_change"),
    path("toolkits/<int:pk>/<str:action>/", views.toolkit_action, name="toolkit_action"),
]
