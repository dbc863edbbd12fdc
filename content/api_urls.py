from django.urls import path

from content import apis

app_name = "content_api"

urlpatterns = [
    path("messages/", apis.MessageListCreateApi.as_view(), name="messages"),
    path("messages/search/", apis.MessageSearchApi.as_view(), name="message_search"),
    path("messages/usage/", apis.UsageApi.as_view(), name="usage"),
    path("messages/<int:pk>/", apis.MessageDetailApi.as_view(), name="message"),
    path("messages/<int:pk>/submit/", apis.MessageSubmitApi.as_view(), name="message_submit"),
    path("messages/<int:pk>/approve/", apis.MessageApproveApi.as_view(), name="message_approve"),
    path("messages/<int:pk>/reject/", apis.MessageRejectApi.as_view(), name="message_reject"),
    path("messages/<int:pk>/withdraw/", apis.MessageWithdrawApi.as_view(), name="message_withdraw"),
    path("messages/<int:pk>/revisions/", apis.MessageRevisionsApi.as_view(), name="message_revisions"),
    path("messages/<int:pk>/history/", apis.MessageHistoryApi.as_view(), name="message_history"),
    path("messages/<int:pk>/shares/", apis.MessageShareApi.as_view(), name="message_shares"),
    path("shares/", apis.MySharesApi.as_view(), name="my_shares"),
]

urlpatterns += [
    path("toolkits/", apis.ToolkitListCreateApi.as_view(), name="toolkits"),
    path("toolkits/<int:pk>/", apis.ToolkitDetailApi.as_view(), name="toolkit"),
    path("toolkits/<int:pk>/items/", apis.ToolkitItemsApi.as_view(), name="toolkit_items"),
    path("toolkits/<int:pk>/items/<int:item_id>/", apis.ToolkitItemDetailApi.as_view(), name="toolkit_item"),
    path("toolkits/<int:pk>/items/<int:item_id>/use/", apis.ToolkitItemUseApi.as_view(), name="toolkit_item_use"),
    path("toolkits/<int:pk>/items/<int:item_id>/file/", apis.ToolkitItemFileApi.as_view(), name="toolkit_item_file"),
    path("toolkits/<int:pk>/reorder/", apis.ToolkitReorderApi.as_view(), name="toolkit_reorder"),
    path("toolkits/<int:pk>/submit/", apis.ToolkitSubmitApi.as_view(), name="toolkit_submit"),
    path("toolkits/<int:pk>/approve/", apis.ToolkitApproveApi.as_view(), name="toolkit_approve"),
    path("toolkits/<int:pk>/reject/", apis.ToolkitRejectApi.as_view(), name="toolkit_reject"),
    path("toolkits/<int:pk>/reopen/", apis.ToolkitReopenApi.as_view(), name="toolkit_reopen"),
]
