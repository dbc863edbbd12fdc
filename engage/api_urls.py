from django.urls import path

from engage import apis
from engage.connectors import apis as connector_apis

app_name = "engage_api"

urlpatterns = [
    path("channels/", apis.ChannelListApi.as_view(), name="channels"),
    path("channels/<slug:slug>/", apis.ChannelDetailApi.as_view(), name="channel"),
    path("channels/<slug:slug>/rotate-secret/", apis.ChannelRotateSecretApi.as_view(), name="channel_rotate_secret"),
    path("channels/<slug:slug>/webhook/", apis.ChannelWebhookApi.as_view(), name="channel_webhook"),
    path("channels/<slug:slug>/discourse/", connector_apis.DiscourseWebhookApi.as_view(), name="channel_discourse"),
    path("channels/<slug:slug>/slack/events/", connector_apis.SlackEventsApi.as_view(), name="channel_slack_events"),
    path("queries/", apis.QueryListApi.as_view(), name="queries"),
    path("queries/<int:id>/", apis.QueryDetailApi.as_view(), name="query"),
    path("queries/<int:id>/claim/", apis.QueryClaimApi.as_view(), name="query_claim"),
    path("queries/<int:id>/release/", apis.QueryReleaseApi.as_view(), name="query_release"),
    path("queries/<int:id>/answers/", apis.QueryAnswersApi.as_view(), name="query_answers"),
    path("queries/<int:id>/draft/", apis.QueryDraftApi.as_view(), name="query_draft"),
    path("queries/<int:id>/escalate/", apis.QueryEscalateApi.as_view(), name="query_escalate"),
    path("queries/<int:id>/close/", apis.QueryCloseApi.as_view(), name="query_close"),
    path("queries/<int:id>/handoff/", apis.QueryHandoffApi.as_view(), name="query_handoff"),
    path("queries/<int:id>/thread/", apis.QueryThreadApi.as_view(), name="query_thread"),
    path("queries/<int:id>/notes/", apis.QueryNotesApi.as_view(), name="query_notes"),
    path("answers/", apis.AnswerListApi.as_view(), name="answers"),
    path("answers/<int:id>/", apis.AnswerDetailApi.as_view(), name="answer"),
    path("answers/<int:id>/rating/", apis.AnswerRatingApi.as_view(), name="answer_rating"),
    path("answers/<int:id>/revisions/", apis.AnswerRevisionsApi.as_view(), name="answer_revisions"),
    path("answers/<int:id>/approve/", apis.AnswerApproveApi.as_view(), name="answer_approve"),
    path("answers/<int:id>/reject/", apis.AnswerRejectApi.as_view(), name="answer_reject"),
    path("insights/", apis.InsightListApi.as_view(), name="insights"),
    path("insights/<int:id>/", apis.InsightDetailApi.as_view(), name="insight"),
    path("insights/<int:id>/status/", apis.InsightStatusApi.as_view(), name="insight_status"),
    path("deliveries/", apis.DeliveryListApi.as_view(), name="deliveries"),
    path("deliveries/<int:id>/", apis.DeliveryDetailApi.as_view(), name="delivery"),
    path("deliveries/<int:id>/retry/", apis.DeliveryRetryApi.as_view(), name="delivery_retry"),
]
