"""Writes for approved messaging, one module per family of use cases.

Every change is made here and only here; the API, the web pages, the jobs and the demo
call these functions. Each takes ``now`` (default: the clock) so the schedule can be
tested by moving time rather than by waiting.

- ``messages``: writing, revisions, review and withdrawal of messages;
- ``schedule``: publication and expiry on time (messages and toolkits);
- ``shares``: tracking links and the clicks they bring;
- ``toolkits``: toolkits, their items, their review and their uses;
- ``uploads``: what a file may be (pure: no database, no Django);
- ``common``: text limits and cleaning, role checks, the clock, notifications.

Callers import from ``content.services``; the names below are its public surface.
"""

from content.services.common import (
    BODY_MAX,
    COMMENT_MAX,
    LONG_TEXT_MAX,
    TITLE_MAX,
    clean_http_url,
    notifications_paused,
)
from content.services.messages import (
    FIELD_NAMES,
    MessageFields,
    latest_revision_of,
    message_approve,
    message_create,
    message_reject,
    message_submit,
    message_update,
    message_withdraw,
)
from content.services.schedule import messages_apply_schedule, schedule_apply
from content.services.shares import (
    BOT_USER_AGENT,
    SHARE_REQUEST_KEY_MAX,
    Followed,
    is_bot,
    share_create,
    share_follow,
    share_text,
    share_url,
    visitor_key,
)
from content.services.toolkits import (
    DESCRIPTION_MAX,
    NOTE_MAX,
    TOOLKIT_FIELD_NAMES,
    ToolkitFields,
    toolkit_approve,
    toolkit_create,
    toolkit_item_add,
    toolkit_item_remove,
    toolkit_item_use,
    toolkit_items_reorder,
    toolkit_reject,
    toolkit_reopen,
    toolkit_submit,
    toolkit_update,
    toolkits_apply_schedule,
)
from content.services.uploads import ALLOWED_UPLOADS, MAX_UPLOAD_BYTES, UploadTooLarge, upload_check

__all__ = [
    "ALLOWED_UPLOADS",
    "BODY_MAX",
    "BOT_USER_AGENT",
    "COMMENT_MAX",
    "DESCRIPTION_MAX",
    "FIELD_NAMES",
    "LONG_TEXT_MAX",
    "MAX_UPLOAD_BYTES",
    "NOTE_MAX",
    "SHARE_REQUEST_KEY_MAX",
    "TITLE_MAX",
    "TOOLKIT_FIELD_NAMES",
    "Followed",
    "MessageFields",
    "ToolkitFields",
    "UploadTooLarge",
    "clean_http_url",
    "is_bot",
    "latest_revision_of",
    "message_approve",
    "message_create",
    "message_reject",
    "message_submit",
    "message_update",
    "message_withdraw",
    "messages_apply_schedule",
    "notifications_paused",
    "schedule_apply",
    "share_create",
    "share_follow",
    "share_text",
    "share_url",
    "toolkit_approve",
    "toolkit_create",
    "toolkit_item_add",
    "toolkit_item_remove",
    "toolkit_item_use",
    "toolkit_items_reorder",
    "toolkit_reject",
    "toolkit_reopen",
    "toolkit_submit",
    "toolkit_update",
    "toolkits_apply_schedule",
    "upload_check",
    "visitor_key",
]
