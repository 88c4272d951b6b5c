"""Writes for live chat, one module per concern (callers import from `chat.services`).

- visitors: visitor tokens, identity-verified contacts, the e-mail label
- messages: visitor messages (the hot path) and agent replies/notes
- handoff: bot -> person (visitor request, take-over)
- inbox: assign, resolve, reopen, snooze, pending
- housekeeping: bot auto-resolve of idle conversations, waking snoozed ones
- labels: conversation labels and canned responses
- feedback: CSAT and thumbs on bot messages
- presence: read receipts, typing, agent presence
- privacy: visitor data deletion, retention purge (export is a read: chat.selectors)
- attachments: images and PDFs sent by visitors and agents (stored files + a message)
- bot: persisting the bot's result (chat.tasks.respond)
- common: the shared plumbing (seq allocation, fan-out, reporting events, lookups)

Keyword-only functions that take the tenant's actor (a Contact for the visitor side, a
Membership for agents) explicitly. Every message insert allocates the conversation's next
`seq` in the same transaction (one `UPDATE ... RETURNING`, which also row-locks the
conversation), so seqs are contiguous per conversation even under concurrency; a failed
insert rolls the allocation back with it. Events go to the channel layer and reporting
events are written only after commit.
"""

from chat.services.attachments import agent_upload, visitor_upload
from chat.services.bot import post_bot_result
from chat.services.common import CLIENT_MSG_ID_RE, Posted
from chat.services.feedback import message_feedback, submit_csat
from chat.services.handoff import handoff_status, request_human, take_over, widget_availability
from chat.services.housekeeping import auto_resolve_idle, bot_auto_resolve_after, wake_snoozed
from chat.services.inbox import assign, confirm_resolution, reopen, resolve, set_status_pending, snooze
from chat.services.labels import create_canned_response, create_label, delete_canned_response, delete_label, set_labels
from chat.services.messages import agent_send, send_visitor_message
from chat.services.presence import (
    agent_connected,
    agent_disconnected,
    agent_heartbeat,
    agent_read,
    agent_typing,
    mark_read,
    typing,
    visitor_read,
    visitor_typing,
)
from chat.services.privacy import forget_contact, purge_expired_data, purge_tenant_data
from chat.services.visitors import (
    VISITOR_TOKEN_SALT,
    check_identity_hash,
    make_visitor_token,
    request_transcript,
    resolve_visitor,
    set_contact_email,
)
from tenants.errors import ServiceError

__all__ = [
    "agent_upload",
    "visitor_upload",
    "forget_contact",
    "purge_expired_data",
    "purge_tenant_data",
    "CLIENT_MSG_ID_RE",
    "Posted",
    "VISITOR_TOKEN_SALT",
    "make_visitor_token",
    "check_identity_hash",
    "resolve_visitor",
    "set_contact_email",
    "request_transcript",
    "send_visitor_message",
    "agent_send",
    "handoff_status",
    "widget_availability",
    "request_human",
    "take_over",
    "assign",
    "resolve",
    "confirm_resolution",
    "reopen",
    "snooze",
    "set_status_pending",
    "bot_auto_resolve_after",
    "auto_resolve_idle",
    "wake_snoozed",
    "set_labels",
    "create_label",
    "delete_label",
    "create_canned_response",
    "delete_canned_response",
    "submit_csat",
    "message_feedback",
    "mark_read",
    "visitor_read",
    "agent_read",
    "typing",
    "agent_connected",
    "agent_heartbeat",
    "agent_disconnected",
    "agent_typing",
    "visitor_typing",
    "post_bot_result",
    "ServiceError",
]
