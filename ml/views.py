"""Portal pages: Knowledge (list, edit, import with progress) and AI (policy, intents and
examples, actions, model versions). Thin: parse, call one service, redirect."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from ml import retrieval_training, selectors, services, training
from ml.models import ArticleStatus, FeedbackKind, ImportStatus, RetrainSchedule, UnsupportedLanguage
from ml.public_views import render_markdown
from tenants.portal import TenantPortalView, found


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Http404 from None


class KnowledgeView(TenantPortalView):
    template_name = "ml/knowledge.html"
    nav_section = "knowledge"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        query = self.request.GET.get("q", "").strip()
        status = self.request.GET.get("status", "")
        imports = list(selectors.import_list(tenant=self.tenant))
        context.update(
            articles=selectors.article_list(tenant=self.tenant, query=query, status=status)[:200],
            imports=imports,
            import_running=any(i.status in (ImportStatus.PENDING, ImportStatus.RUNNING) for i in imports),
            q=query, status=status, statuses=ArticleStatus.choices,
        )
        return context

    def op_create(self, request: HttpRequest, post: Any) -> HttpResponse | None:
        article = self.run_service(request, lambda: services.create_article(
            actor=self.membership, title=post.get("title", ""), body=post.get("body", ""), tags=post.get("tags", ""),
            status=post.get("status", ArticleStatus.DRAFT), language=post.get("language", "en")),
            _("Article created."))
        if article and article is not True:
            return redirect("ml:article", tenant_slug=self.tenant.slug, pk=article.pk)
        return None

    def op_import(self, request: HttpRequest, post: Any) -> None:
        files = [(f.name or "upload", f.read()) for f in request.FILES.getlist("file")]
        self.run_service(request, lambda: services.start_import(
            actor=self.membership, kind=post.get("kind", "files"), files=files, publish=post.get("publish") == "on"),
            _("Import started."))


class ArticleView(TenantPortalView):
    template_name = "ml/article.html"
    nav_section = "knowledge"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        article = found(selectors.article_get(tenant=self.tenant, article_id=_int(self.kwargs["pk"])))
        context.update(article=article, statuses=ArticleStatus.choices,
                       preview=mark_safe(render_markdown(article.body)))  # noqa: S308 - sanitised by nh3
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        found(selectors.article_get(tenant=self.tenant, article_id=_int(kwargs["pk"])))
        return super().post(request, *args, **kwargs)

    def op_delete(self, request: HttpRequest, post: Any) -> HttpResponse | None:
        pk = _int(self.kwargs["pk"])
        if self.run_service(request, lambda: services.delete_article(actor=self.membership, article_id=pk),
                            _("Article deleted.")):
            return redirect("ml:knowledge", tenant_slug=self.tenant.slug)
        return None

    def op_save(self, request: HttpRequest, post: Any) -> None:
        self.run_service(request, lambda: services.update_article(
            actor=self.membership, article_id=_int(self.kwargs["pk"]), title=post.get("title", ""),
            body=post.get("body", ""), tags=post.get("tags", ""), status=post.get("status", ArticleStatus.DRAFT),
            language=post.get("language", "en")), _("Article saved."))


class AIView(TenantPortalView):
    template_name = "ml/ai.html"
    nav_section = "ai"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(
            policy=selectors.policy_get(tenant=self.tenant),
            intents=selectors.intent_list(tenant=self.tenant),
            actions=selectors.action_list(tenant=self.tenant),
            versions=selectors.model_versions(tenant=self.tenant)[:20],
            training_run=selectors.latest_training_run(tenant=self.tenant),
            unsupported_choices=UnsupportedLanguage.choices,
        )
        return context

    def op_policy(self, request: HttpRequest, post: Any) -> None:
        self.run_service(request, lambda: services.update_policy(
            actor=self.membership,
            confidence_threshold=post.get("confidence_threshold", ""),
            handoff_on_out_of_scope=post.get("handoff_on_out_of_scope") == "on",
            negative_streak=post.get("negative_streak", ""),
            max_bot_turns=post.get("max_bot_turns", ""),
            persona=post.get("persona", ""),
            guardrails=post.get("guardrails", ""),
            supported_languages=post.get("supported_languages", ""),
            unsupported_language=post.get("unsupported_language", ""),
            use_generator=post.get("use_generator") == "on",
        ), _("AI policy saved."))

    def op_create_intent(self, request: HttpRequest, post: Any) -> None:
        self.run_service(request, lambda: services.create_intent(
            actor=self.membership, name=post.get("name", ""), description=post.get("description", ""),
            escalates=post.get("escalates") == "on", examples=post.get("examples", "").splitlines()),
            _("Intent created."))

    def op_update_intent(self, request: HttpRequest, post: Any) -> None:
        self.run_service(request, lambda: services.update_intent(
            actor=self.membership, intent_id=_int(post.get("intent_id")), name=post.get("name", ""),
            description=post.get("description", ""), escalates=post.get("escalates") == "on"), _("Intent saved."))

    def op_delete_intent(self, request: HttpRequest, post: Any) -> None:
        self.run_service(request, lambda: services.delete_intent(
            actor=self.membership, intent_id=_int(post.get("intent_id"))), _("Intent deleted."))

    def op_add_examples(self, request: HttpRequest, post: Any) -> None:
        self.run_service(request, lambda: services.add_examples(
            actor=self.membership, intent_id=_int(post.get("intent_id")), texts=post.get("examples", "")),
            _("Examples added."))

    def op_delete_example(self, request: HttpRequest, post: Any) -> None:
        self.run_service(request, lambda: services.delete_example(
            actor=self.membership, example_id=_int(post.get("example_id"))), _("Example deleted."))

    def _action_fields(self, post: Any) -> dict[str, Any]:
        return {
            "name": post.get("name", ""), "description": post.get("description", ""),
            "method": post.get("method", "GET"), "url_template": post.get("url_template", ""),
            "parameters": post.get("parameters", ""), "auth_header_name": post.get("auth_header_name", ""),
            "auth_header_value": post.get("auth_header_value", ""),
            "trigger_intents": post.getlist("trigger_intents"),
            "response_template": post.get("response_template", ""),
            "response_fields": post.get("response_fields", ""),
            "read_only": post.get("read_only") == "on", "needs_approval": post.get("needs_approval") == "on",
            "requires_verified_visitor": post.get("requires_verified_visitor") == "on",
            "timeout_s": post.get("timeout_s", "5"), "is_active": post.get("is_active") == "on",
        }

    def op_create_action(self, request: HttpRequest, post: Any) -> None:
        self.run_service(request, lambda: services.create_action(actor=self.membership, **self._action_fields(post)),
                         _("Action created."))

    def op_update_action(self, request: HttpRequest, post: Any) -> None:
        fields = self._action_fields(post)
        fields["clear_secret"] = post.get("clear_secret") == "on"
        self.run_service(request, lambda: services.update_action(
            actor=self.membership, action_id=_int(post.get("action_id")), **fields), _("Action saved."))

    def op_delete_action(self, request: HttpRequest, post: Any) -> None:
        self.run_service(request, lambda: services.delete_action(
            actor=self.membership, action_id=_int(post.get("action_id"))), _("Action deleted."))

    def op_retrain(self, request: HttpRequest, post: Any) -> None:
        self.run_service(request, lambda: training.request_retrain(actor=self.membership), _("Retraining started."))


# --- learning loop (issue 6) ---------------------------------------------------------------------


def _metric_rows(metrics: dict[str, Any], serving: dict[str, Any] | None, kind: str = "intent") -> list[dict[str, Any]]:
    keys = ((("hit@1", _("Right article first (hit@1)"), "up"), ("hit@5", _("Right article in top 5 (hit@5)"), "up"),
             ("mrr@10", _("MRR@10"), "up")) if kind == "retrieval" else
            (("accuracy", _("Accuracy"), "up"), ("macro_f1", _("Macro-F1"), "up"),
             ("oos_recall", _("Out-of-scope recall"), "up"), ("oos_precision", _("Out-of-scope precision"), "up"),
             ("ece", _("Calibration error (ECE)"), "down")))
    rows = []
    for key, label, better in keys:
        value = metrics.get(key)
        other = (serving or {}).get(key)
        delta = None if value is None or other is None else float(value) - float(other)
        good = None if delta is None or abs(delta) < 1e-9 else (delta > 0) == (better == "up")
        rows.append({"label": label, "value": value, "serving": other, "delta": delta, "good": good})
    return rows


class LearningView(TenantPortalView):
    """Registry (versions with metrics, gate reasons, serve/rollback), live progress of the
    current retrain (polled JSON), "Retrain now", cancel and the schedule."""

    template_name = "ml/learning.html"
    nav_section = "ai"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        run = selectors.latest_training_run(tenant=self.tenant)
        context.update(
            versions=list(selectors.model_versions(tenant=self.tenant)[:50]),
            retrieval_versions=[{"v": v, "hit1": (v.metrics or {}).get("hit@1"), "hit5": (v.metrics or {}).get("hit@5"),
                                 "serving_hit1": (v.serving_metrics or {}).get("hit@1")}
                                for v in selectors.model_versions(tenant=self.tenant, kind="retrieval")[:20]],
            retrieval_run=selectors.latest_training_run(tenant=self.tenant, kind="retrieval"),
            run=selectors.training_run_dict(run)["run"],
            policy=selectors.policy_get(tenant=self.tenant),
            schedules=RetrainSchedule.choices,
            progress_url=self.request.path + "progress.json",
        )
        return context

    def op_retrain(self, request: HttpRequest, post: Any) -> None:
        self.run_service(request, lambda: training.request_retrain(actor=self.membership), _("Retraining started."))

    def op_cancel(self, request: HttpRequest, post: Any) -> None:
        self.run_service(request, lambda: training.cancel_run(actor=self.membership, run_id=_int(post.get("run_id"))),
                         _("Cancelling the retrain."))

    def op_serve(self, request: HttpRequest, post: Any) -> None:
        self.run_service(request, lambda: training.serve_version(
            actor=self.membership, version_id=_int(post.get("version_id"))), _("That version is serving now."))

    def op_retrain_retrieval(self, request: HttpRequest, post: Any) -> None:
        self.run_service(request, lambda: retrieval_training.request_retrain_retrieval(actor=self.membership),
                         _("Retrieval retraining started."))

    def op_frozen_retrieval(self, request: HttpRequest, post: Any) -> None:
        self.run_service(request, lambda: retrieval_training.use_frozen_retrieval(actor=self.membership),
                         _("Search uses the frozen encoder again."))

    def op_starting_model(self, request: HttpRequest, post: Any) -> None:
        self.run_service(request, lambda: training.use_starting_model(actor=self.membership),
                         _("The starting model (built from your examples) is serving now."))

    def op_schedule(self, request: HttpRequest, post: Any) -> None:
        self.run_service(request, lambda: services.update_policy(
            actor=self.membership, retrain_schedule=post.get("retrain_schedule", ""),
            retrain_min_new=post.get("retrain_min_new", "")), _("Schedule saved."))


class LearningProgressView(TenantPortalView):
    """Small JSON the learning page polls every second."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        run = selectors.latest_training_run(tenant=self.tenant)
        response = JsonResponse(selectors.training_run_dict(run))
        response["Cache-Control"] = "no-store"
        return response


class ModelVersionView(TenantPortalView):
    template_name = "ml/model_version.html"
    nav_section = "ai"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        version = found(selectors.model_version_get(tenant=self.tenant, version_id=_int(self.kwargs["pk"])))
        context.update(version=version, rows=_metric_rows(version.metrics or {}, version.serving_metrics or None,
                                                          version.kind),
                       replay=version.replay or {}, confused=(version.metrics or {}).get("confused_pairs", [])[:8])
        return context


class GapsView(TenantPortalView):
    """Knowledge gaps (clustered unanswered questions) and suggested articles."""

    template_name = "ml/gaps.html"
    nav_section = "knowledge"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(gaps=selectors.knowledge_gaps(tenant=self.tenant)[:30],
                       suggestions=selectors.pending_suggestions(tenant=self.tenant))
        return context

    def op_draft(self, request: HttpRequest, post: Any) -> HttpResponse | None:
        ids = [_int(x) for x in post.get("question_ids", "").split(",") if x.strip()]
        article = self.run_service(request, lambda: services.draft_gap_article(actor=self.membership, question_ids=ids),
                                   _("Draft article created: review and publish it."))
        if article and article is not True:
            return redirect("ml:article", tenant_slug=self.tenant.slug, pk=article.pk)
        return None

    def op_accept(self, request: HttpRequest, post: Any) -> HttpResponse | None:
        article = self._decide(request, post, accept=True)
        if article and article is not True:
            return redirect("ml:article", tenant_slug=self.tenant.slug, pk=article.pk)
        return None

    def op_reject(self, request: HttpRequest, post: Any) -> None:
        self._decide(request, post, accept=False)

    def _decide(self, request: HttpRequest, post: Any, *, accept: bool) -> Any:
        return self.run_service(request, lambda: services.decide_suggestion(
            actor=self.membership, suggestion_id=_int(post.get("suggestion_id")), accept=accept,
            title=post.get("title", ""), body=post.get("body", "")),
            _("Suggestion accepted as a draft article.") if accept else _("Suggestion rejected."))


_FEEDBACK_DONE: dict[str, str] = {
    FeedbackKind.RELABEL.value: "Relabelled: it will be used at the next retrain.",
    FeedbackKind.WRONG.value: "Marked wrong.",
    FeedbackKind.CORRECTED.value: "Correction saved as a suggested article.",
}


class FeedbackView(TenantPortalView):
    """Agents relabel a visitor message's intent, mark the bot's answer wrong or correct it
    (keyed by chat's message id; the inbox can link here with ?message=<id>)."""

    template_name = "ml/feedback.html"
    nav_section = "ai"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(messages_list=selectors.recent_analyzed_messages(tenant=self.tenant),
                       intents=selectors.intent_list(tenant=self.tenant),
                       selected=self.request.GET.get("message", ""))
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        post = request.POST
        kind = post.get("kind", "")
        self.run_service(request, lambda: services.agent_feedback(
            actor=self.membership, message_id=_int(post.get("message_id")), kind=kind, label=post.get("label", ""),
            correction=post.get("correction", "")),
            _(_FEEDBACK_DONE.get(kind, "Saved.")))
        return redirect("ml:feedback", tenant_slug=self.tenant.slug)
