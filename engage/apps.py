from django.apps import AppConfig


class EngageConfig(AppConfig):
    name = "engage"
    verbose_name = "Community queries and participation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts.notifications import register_kind
        from engage import receivers, views
        from engage.dashboard import views as dashboard_views

        register_kind("engage.query_routed", "New queries for your department", email_default=False)
        register_kind("engage.query_escalated", "Queries escalated to your department", email_default=False)
        register_kind("engage.query_handoff", "Queries a colleague handed to you")
        register_kind("engage.answer_review", "Answers awaiting your review", email_default=False)
        register_kind("engage.answer_reviewed", "Reviews of your answers")
        register_kind("engage.sla_breach", "Queries that missed their response target")
        register_kind("engage.insight", "Insights you submitted, answered or own")
        register_kind("engage.query_followed_up", "Follow-ups from customers on your queries", email_default=False)
        register_kind("engage.note_mention", "Notes that mention you")
        register_kind("engage.delivery_dead", "Answers that could not be delivered to their channel")
        receivers.connect()
        views.register_pages()
        dashboard_views.register_pages()
