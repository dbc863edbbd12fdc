from django.urls import path

from engage import presence, views

app_name = "engage"

urlpatterns = [
    path("queries/", views.queue, name="queue"),
    path("queries/live/", views.queue_live, name="queue_live"),
    path("queries/preview/", views.answer_preview, name="answer_preview"),
    path("queries/<int:pk>/", views.query_detail, name="query_detail"),
    path("queries/<int:pk>/claim/", views.query_claim, name="query_claim"),
    path("queries/<int:pk>/release/", views.query_release, name="query_release"),
    path("queries/<int:pk>/presence/", presence.query_presence, name="query_presence"),
    path("queries/<int:pk>/draft/", views.query_draft, name="query_draft"),
    path("queries/<int:pk>/answer/", views.query_answer, name="query_answer"),
    path("queries/<int:pk>/escalate/", views.query_escalate, name="query_escalate"),
    path("queries/<int:pk>/close/", views.query_close, name="query_close"),
    path("queries/<int:pk>/handoff/", views.query_handoff, name="query_handoff"),
    path("queries/<int:pk>/notes/", views.query_note, name="query_note"),
    path("answers/<int:pk>/<str:decision>/", views.answer_review, name="answer_review"),
    path("rate/<str:token>/", views.rate, name="rate"),
    path("insights/", views.insight_board, name="insights"),
    path("insights/new/", views.insight_create, name="insight_create"),
    path("insights/<int:pk>/", views.insight_detail, name="insight_detail"),
    path("insights/<int:pk>/move/", views.insight_move, name="insight_move"),
    path("deliveries/", views.deliveries, name="deliveries"),
    path("deliveries/<int:pk>/retry/", views.delivery_retry, name="delivery_retry"),
    path("channels/", views.channels, name="channels"),
    path("channels/<slug:slug>/rotate/", views.channel_rotate, name="channel_rotate"),
    path("channels/<slug:slug>/edit/", views.channel_edit, name="channel_edit"),
]
