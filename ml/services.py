"""Admin writes for the knowledge base, imports, intents, AI policy, actions and the
learning loop's review queue (suggested articles, knowledge-gap drafts, agent feedback).
Chat's calls into ml live in ``ml.api``.

Importing this module never imports torch: models load lazily inside the inference
process (``ml.serving``). Writes bump the tenant's revision counters so inference
processes refresh their cached index/intent model/policy.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from ml.feedback import record_feedback, record_human_answer
from ml.models import (
    Action,
    AIPolicy,
    ArticleStatus,
    EmbeddingStatus,
    HttpMethod,
    ImportStatus,
    Intent,
    IntentExample,
    KnowledgeArticle,
    KnowledgeChunk,
    KnowledgeImport,
    MLRevision,
    RetrainSchedule,
    UnsupportedLanguage,
)
from tenants.dispatch import enqueue
from tenants.errors import ServiceError
from tenants.models import Membership, Tenant
from tenants.services import check_admin, delete_owned, locked_owned

logger = logging.getLogger(__name__)

# =============================================================================== revisions


def bump_revision(*, tenant: Tenant | int, knowledge: bool = False, intents: bool = False, config: bool = False) -> None:
    tenant_id = tenant if isinstance(tenant, int) else tenant.pk
    MLRevision.objects.get_or_create(tenant_id=tenant_id)
    changes: dict[str, Any] = {}
    if knowledge:
        changes["knowledge"] = F("knowledge") + 1
    if intents:
        changes["intents"] = F("intents") + 1
    if config:
        changes["config"] = F("config") + 1
    if changes:
        MLRevision.objects.for_tenant(tenant_id).update(**changes)


# =============================================================================== knowledge


def _clean_tags(tags: list[str] | str) -> list[str]:
    items = tags.split(",") if isinstance(tags, str) else tags
    out: list[str] = []
    for t in items:
        t = str(t).strip().lower()[:40]
        if t and t not in out:
            out.append(t)
    return out[:20]


def _validated_article(*, title: str, body: str, status: str, language: str) -> dict[str, Any]:
    title = " ".join((title or "").split())
    if not title:
        raise ServiceError(_("Give the article a title."))
    if not (body or "").strip():
        raise ServiceError(_("The article needs a body."))
    if status not in ArticleStatus.values:
        raise ServiceError(_("Unknown status."))
    language = (language or "en").strip().lower()[:10]
    if not re.fullmatch(r"[a-z]{2,3}(-[a-z0-9]{2,8})?", language):
        raise ServiceError(_("Language must be a code like en or zh."))
    return {"title": title[:200], "body": body.strip(), "status": status, "language": language}


@transaction.atomic
def create_article(
    *, actor: Membership, title: str, body: str, tags: list[str] | str = "", status: str = ArticleStatus.DRAFT,
    language: str = "en", source: str = "manual",
) -> KnowledgeArticle:
    check_admin(actor)
    fields = _validated_article(title=title, body=body, status=status, language=language)
    article = KnowledgeArticle.objects.create(tenant=actor.tenant, tags=_clean_tags(tags), source=source[:40], **fields)
    _after_article_change(article)
    return article


@transaction.atomic
def update_article(
    *, actor: Membership, article_id: int, title: str, body: str, tags: list[str] | str, status: str, language: str
) -> KnowledgeArticle:
    check_admin(actor)
    article = (
        KnowledgeArticle.objects.for_tenant(actor.tenant)
        .select_for_update()
        .filter(pk=article_id, deleted_at__isnull=True)
        .first()
    )
    if article is None:
        raise ServiceError(_("Article not found."), code="not_found")
    fields = _validated_article(title=title, body=body, status=status, language=language)
    content_changed = fields["title"] != article.title or fields["body"] != article.body
    for key, value in fields.items():
        setattr(article, key, value)
    article.tags = _clean_tags(tags)
    if content_changed:
        article.revision += 1
        article.embedding_status = EmbeddingStatus.PENDING
    article.save()
    _after_article_change(article)
    return article


@transaction.atomic
def delete_article(*, actor: Membership, article_id: int) -> None:
    check_admin(actor)
    updated = (
        KnowledgeArticle.objects.for_tenant(actor.tenant)
        .filter(pk=article_id, deleted_at__isnull=True)
        .update(deleted_at=timezone.now(), revision=F("revision") + 1)
    )
    if not updated:
        raise ServiceError(_("Article not found."), code="not_found")
    KnowledgeChunk.objects.for_tenant(actor.tenant).filter(article_id=article_id).delete()
    bump_revision(tenant=actor.tenant, knowledge=True)


def _after_article_change(article: KnowledgeArticle) -> None:
    from ml import tasks

    bump_revision(tenant=article.tenant_id, knowledge=True)
    if article.is_live and article.embedded_revision != article.revision:
        enqueue(tasks.embed_article, article.tenant_id, article.pk)
    elif not article.is_live:
        KnowledgeChunk.objects.for_tenant(article.tenant_id).filter(article=article).delete()


def embed_article(*, tenant_id: int, article_id: int) -> int:
    """Chunk and embed one article (task body). Idempotent; a stale run writes nothing.
    Returns the number of chunks written."""
    from ml.retrieval import chunk_markdown
    from ml.serving import EMBEDDING_MODEL_NAME, encode

    article = KnowledgeArticle.objects.for_tenant(tenant_id).filter(pk=article_id).first()
    if article is None:
        return 0
    if not article.is_live:
        KnowledgeChunk.objects.for_tenant(tenant_id).filter(article=article).delete()
        return 0
    revision = article.revision
    if article.embedded_revision == revision:
        return 0  # already done (redelivered or duplicate task)
    texts = chunk_markdown(article.body)
    vectors = encode([f"{article.title}\n{t}" for t in texts]) if texts else None
    with transaction.atomic():
        current = KnowledgeArticle.objects.for_tenant(tenant_id).select_for_update().filter(pk=article_id).first()
        if current is None or current.revision != revision or not current.is_live:
            return 0  # changed meanwhile: the newer task does the work
        KnowledgeChunk.objects.for_tenant(tenant_id).filter(article=current).delete()
        KnowledgeChunk.objects.bulk_create(
            [
                KnowledgeChunk(tenant_id=tenant_id, article=current, position=n, text=text,
                               embedding=vectors[n].astype("<f4").tobytes() if vectors is not None else b"", embedding_model=EMBEDDING_MODEL_NAME)
                for n, text in enumerate(texts)
            ]
        )
        KnowledgeArticle.objects.for_tenant(tenant_id).filter(pk=article_id, revision=revision).update(
            embedded_revision=revision, embedding_status=EmbeddingStatus.READY
        )
    return len(texts)


# --- imports --------------------------------------------------------------------------------------


def start_import(
    *, actor: Membership, kind: str, files: list[tuple[str, bytes]], publish: bool = True
) -> KnowledgeImport:
    """Parse the upload now (cheap), create the articles in a task with progress."""
    from ml import importing, tasks

    check_admin(actor)
    if not files:
        raise ServiceError(_("Choose a file to import."))
    items: list[dict[str, Any]] = []
    errors: list[str] = []
    if kind == "csv":
        for name, raw in files:
            items += importing.parse_csv(raw, name)
    elif kind == "files":
        for name, raw in files:
            try:
                items.append(importing.parse_file(name, raw))
            except ServiceError as exc:
                errors.append(exc.message)
        if not items:
            raise ServiceError(" ".join(errors) or _("Nothing to import."))
    else:
        raise ServiceError(_("Unknown import kind."))
    with transaction.atomic():
        job = KnowledgeImport.objects.create(
            tenant=actor.tenant, kind=kind, filename=", ".join(n for n, _raw in files)[:300], publish=publish,
            items=items, total=len(items), errors=errors, created_by_id=actor.user_id,
        )
        enqueue(tasks.run_import, actor.tenant_id, job.pk)
    return job


def run_import(*, tenant_id: int, import_id: int, batch: int = 50) -> None:
    """Create the import's articles in batches, updating progress (task body). Resumable:
    it continues from ``processed`` after a crash."""
    from ml import tasks

    job = KnowledgeImport.objects.for_tenant(tenant_id).filter(pk=import_id).first()
    if job is None or job.status in (ImportStatus.DONE, ImportStatus.FAILED):
        return
    KnowledgeImport.objects.for_tenant(tenant_id).filter(pk=import_id).update(status=ImportStatus.RUNNING)
    items = list(job.items or [])
    status = ArticleStatus.PUBLISHED if job.publish else ArticleStatus.DRAFT
    position = job.processed
    try:
        while position < len(items):
            chunk = items[position : position + batch]
            with transaction.atomic():
                created = KnowledgeArticle.objects.bulk_create(
                    [
                        KnowledgeArticle(tenant_id=tenant_id, title=str(it["title"])[:200] or "Untitled",
                                         body=str(it["body"]), tags=_clean_tags(it.get("tags") or []), status=status,
                                         source=str(it.get("source", job.kind))[:40])
                        for it in chunk
                    ]
                )
                position += len(chunk)
                KnowledgeImport.objects.for_tenant(tenant_id).filter(pk=import_id).update(
                    processed=position, created_count=F("created_count") + len(created),
                )
                if job.kind == "csv":  # each imported question answered by its article: retrieval training data
                    from ml.retrieval_training import record_import_pairs

                    record_import_pairs(tenant_id=tenant_id, articles=created)
                job.article_ids = list(job.article_ids or []) + [a.pk for a in created]
                KnowledgeImport.objects.for_tenant(tenant_id).filter(pk=import_id).update(article_ids=job.article_ids)
                bump_revision(tenant=tenant_id, knowledge=True)
                if status == ArticleStatus.PUBLISHED:
                    for article in created:
                        enqueue(tasks.embed_article, tenant_id, article.pk)
    except Exception as exc:  # noqa: BLE001 - recorded for the portal, then re-raised
        KnowledgeImport.objects.for_tenant(tenant_id).filter(pk=import_id).update(
            status=ImportStatus.FAILED, errors=[*job.errors, str(exc)[:300]], finished_at=timezone.now()
        )
        raise
    KnowledgeImport.objects.for_tenant(tenant_id).filter(pk=import_id).update(
        status=ImportStatus.DONE, items=[], finished_at=timezone.now()
    )


# =============================================================================== intents


_INTENT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,79}$")


def _intent_name(name: str) -> str:
    name = (name or "").strip().lower().replace(" ", "_")
    if not _INTENT_NAME.match(name):
        raise ServiceError(_("Intent names use lower-case letters, digits, _ and -."))
    return name


@transaction.atomic
def create_intent(
    *, actor: Membership, name: str, description: str = "", escalates: bool = False, examples: list[str] | None = None
) -> Intent:
    check_admin(actor)
    name = _intent_name(name)
    if Intent.objects.for_tenant(actor.tenant).filter(name=name).exists():
        raise ServiceError(_("An intent with this name exists."), code="duplicate")
    intent = Intent.objects.create(tenant=actor.tenant, name=name, description=description.strip()[:300],
                                   escalates=escalates)
    _add_examples(intent, examples or [])
    bump_revision(tenant=actor.tenant, intents=True)
    return intent


@transaction.atomic
def update_intent(*, actor: Membership, intent_id: int, name: str, description: str, escalates: bool) -> Intent:
    check_admin(actor)
    intent = Intent.objects.for_tenant(actor.tenant).filter(pk=intent_id).first()
    if intent is None:
        raise ServiceError(_("Intent not found."), code="not_found")
    name = _intent_name(name)
    if Intent.objects.for_tenant(actor.tenant).filter(name=name).exclude(pk=intent_id).exists():
        raise ServiceError(_("An intent with this name exists."), code="duplicate")
    old_name = intent.name
    intent.name, intent.description, intent.escalates = name, description.strip()[:300], escalates
    intent.save(update_fields=["name", "description", "escalates"])
    if old_name != name:  # keep action triggers in step
        for action in Action.objects.for_tenant(actor.tenant):
            if old_name not in (action.trigger_intents or []):
                continue
            action.trigger_intents = sorted({name if n == old_name else n for n in action.trigger_intents})
            action.save(update_fields=["trigger_intents"])
        bump_revision(tenant=actor.tenant, config=True)
    bump_revision(tenant=actor.tenant, intents=True)
    return intent


@transaction.atomic
def delete_intent(*, actor: Membership, intent_id: int) -> None:
    check_admin(actor)
    delete_owned(Intent, _("Intent not found."), tenant=actor.tenant, pk=intent_id)
    bump_revision(tenant=actor.tenant, intents=True)


def _add_examples(intent: Intent, texts: list[str]) -> int:
    cleaned = []
    for text in texts:
        text = " ".join(str(text).split())[:500]
        if text and text not in cleaned:
            cleaned.append(text)
    IntentExample.objects.bulk_create(
        [IntentExample(tenant_id=intent.tenant_id, intent=intent, text=t) for t in cleaned], ignore_conflicts=True
    )
    return len(cleaned)


@transaction.atomic
def add_examples(*, actor: Membership, intent_id: int, texts: list[str] | str) -> int:
    check_admin(actor)
    intent = Intent.objects.for_tenant(actor.tenant).filter(pk=intent_id).first()
    if intent is None:
        raise ServiceError(_("Intent not found."), code="not_found")
    items = texts.splitlines() if isinstance(texts, str) else texts
    added = _add_examples(intent, items)
    if not added:
        raise ServiceError(_("Write at least one example."))
    bump_revision(tenant=actor.tenant, intents=True)
    return added


@transaction.atomic
def delete_example(*, actor: Membership, example_id: int) -> None:
    check_admin(actor)
    delete_owned(IntentExample, _("Example not found."), tenant=actor.tenant, pk=example_id)
    bump_revision(tenant=actor.tenant, intents=True)


# =============================================================================== policy

POLICY_FIELDS = (
    "confidence_threshold", "handoff_on_out_of_scope", "negative_streak", "max_bot_turns", "persona",
    "guardrails", "supported_languages", "unsupported_language", "use_generator", "retrain_schedule",
    "retrain_min_new", "agent_settings", "oos_max_in_scope_reject",
)


@transaction.atomic
def update_policy(*, actor: Membership, **changes: Any) -> AIPolicy:
    check_admin(actor)
    unknown = set(changes) - set(POLICY_FIELDS)
    if unknown:
        raise ServiceError(_("Unknown policy fields: %(f)s") % {"f": ", ".join(sorted(unknown))})
    policy, _created = AIPolicy.objects.get_or_create(tenant=actor.tenant)
    policy = AIPolicy.objects.for_tenant(actor.tenant).select_for_update().get(pk=policy.pk)
    for key, value in changes.items():
        if key == "confidence_threshold":
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise ServiceError(_("The threshold must be a number between 0 and 1.")) from None
            if not 0 <= value <= 1:
                raise ServiceError(_("The threshold must be a number between 0 and 1."))
        elif key in ("negative_streak", "max_bot_turns"):
            try:
                value = int(value)
            except (TypeError, ValueError):
                raise ServiceError(_("%(f)s must be a whole number.") % {"f": key}) from None
            if not 1 <= value <= 100:
                raise ServiceError(_("%(f)s must be between 1 and 100.") % {"f": key})
        elif key in ("handoff_on_out_of_scope", "use_generator"):
            value = bool(value)
        elif key in ("persona", "guardrails"):
            value = str(value or "").strip()[:4000]
        elif key == "supported_languages":
            items = value.split(",") if isinstance(value, str) else list(value or [])
            value = [str(v).strip().lower() for v in items if str(v).strip()][:20]
        elif key == "unsupported_language" and value not in UnsupportedLanguage.values:
            raise ServiceError(_("Unknown unsupported-language behaviour."))
        elif key == "retrain_schedule" and value not in RetrainSchedule.values:
            raise ServiceError(_("Unknown retraining schedule."))
        elif key == "agent_settings":
            from ml.dialogue.settings import validated_overrides

            try:
                value = validated_overrides(value)
            except ValueError as exc:
                raise ServiceError(str(exc)) from None
        elif key == "oos_max_in_scope_reject":
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise ServiceError(_("The out-of-scope budget must be a number between 0 and 0.5.")) from None
            if not 0 <= value <= 0.5:
                raise ServiceError(_("The out-of-scope budget must be a number between 0 and 0.5."))
        elif key == "retrain_min_new":
            try:
                value = int(value)
            except (TypeError, ValueError):
                raise ServiceError(_("%(f)s must be a whole number.") % {"f": key}) from None
            if not 1 <= value <= 100000:
                raise ServiceError(_("%(f)s must be between 1 and 100000.") % {"f": key})
        setattr(policy, key, value)
    policy.save()
    bump_revision(tenant=actor.tenant, config=True)
    return policy


# =============================================================================== actions

PARAM_TYPES = ("order_number", "email", "integer", "string")


def _validated_parameters(parameters: Any) -> list[dict[str, Any]]:
    if parameters in (None, ""):
        return []
    if isinstance(parameters, str):
        # "order_number:order_number, note:string?" shorthand from the portal form
        items = []
        for part in parameters.replace("\n", ",").split(","):
            part = part.strip()
            if not part:
                continue
            name, _sep, kind = part.partition(":")
            kind = kind.strip() or "string"
            optional = kind.endswith("?")
            items.append({"name": name.strip(), "type": kind.rstrip("?"), "required": not optional})
        parameters = items
    if not isinstance(parameters, list):
        raise ServiceError(_("Parameters must be a list."))
    out = []
    for p in parameters:
        if not isinstance(p, dict):
            raise ServiceError(_("Each parameter needs a name and a type."))
        name = str(p.get("name", "")).strip()
        kind = str(p.get("type", "string")).strip()
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", name):
            raise ServiceError(_("Parameter names use lower-case letters, digits and _."))
        if kind not in PARAM_TYPES:
            raise ServiceError(_("Parameter type must be one of %(t)s.") % {"t": ", ".join(PARAM_TYPES)})
        item: dict[str, Any] = {"name": name, "type": kind, "required": bool(p.get("required", True))}
        if p.get("prompt"):
            item["prompt"] = str(p["prompt"])[:200]
        out.append(item)
    return out


def _validated_action(*, name: str, method: str, url_template: str, parameters: Any, timeout_s: Any) -> dict[str, Any]:
    from urllib.parse import urlsplit

    name = (name or "").strip().lower().replace(" ", "_")
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,79}", name):
        raise ServiceError(_("Action names use lower-case letters, digits, _ and -."))
    if method not in HttpMethod.values:
        raise ServiceError(_("Method must be GET or POST."))
    url_template = (url_template or "").strip()
    parts = urlsplit(url_template.replace("{", "").replace("}", ""))
    if parts.scheme not in ("http", "https") or not parts.hostname or "{" in (urlsplit(url_template).netloc or ""):
        raise ServiceError(_("The URL must be http(s) with a fixed host; placeholders only in the path or query."))
    params = _validated_parameters(parameters)
    import string

    placeholders = {f[1] for f in string.Formatter().parse(url_template) if f[1]}
    unknown = placeholders - {p["name"] for p in params}
    if unknown:
        raise ServiceError(_("The URL uses undefined parameters: %(p)s") % {"p": ", ".join(sorted(unknown))})
    try:
        timeout = float(timeout_s)
    except (TypeError, ValueError):
        raise ServiceError(_("Timeout must be a number of seconds.")) from None
    if not 0 < timeout <= 30:
        raise ServiceError(_("Timeout must be between 0 and 30 seconds."))
    return {"name": name, "method": method, "url_template": url_template, "parameters": params, "timeout_s": timeout}


def _validated_response_fields(raw: Any) -> list[str]:
    """The allow-list of response fields: names like ``status`` or ``shipping_city``
    (nested JSON flattened with ``_``); a comma-separated string from the portal form."""
    if raw is None or raw == "":
        return []
    items = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(items, (list, tuple)):
        raise ServiceError(_("Response fields must be a list of field names."))
    names = [str(item).strip() for item in items if str(item).strip()]
    if len(names) > 50 or any(not re.fullmatch(r"[A-Za-z0-9_]{1,80}", n) for n in names):
        raise ServiceError(_("Response fields are up to 50 names of letters, digits and _."))
    return sorted(set(names))


def _set_triggers(action: Action, intent_names: list[str] | str | None) -> None:
    if intent_names is None:
        return
    names = [n.strip() for n in (intent_names.split(",") if isinstance(intent_names, str) else intent_names) if str(n).strip()]
    known = set(Intent.objects.for_tenant(action.tenant_id).filter(name__in=names).values_list("name", flat=True))
    missing = set(names) - known
    if missing:
        raise ServiceError(_("Unknown intents: %(n)s") % {"n": ", ".join(sorted(missing))})
    action.trigger_intents = sorted(set(names))
    action.save(update_fields=["trigger_intents"])


@transaction.atomic
def create_action(
    *, actor: Membership, name: str, url_template: str, method: str = "GET", parameters: Any = None,
    description: str = "", auth_header_name: str = "", auth_header_value: str = "", trigger_intents: Any = None,
    response_template: str = "", read_only: bool = True, needs_approval: bool = False, timeout_s: Any = 5.0,
    is_active: bool = True, response_fields: Any = None, requires_verified_visitor: bool = True,
) -> Action:
    check_admin(actor)
    fields = _validated_action(name=name, method=method, url_template=url_template, parameters=parameters,
                               timeout_s=timeout_s)
    if Action.objects.for_tenant(actor.tenant).filter(name=fields["name"]).exists():
        raise ServiceError(_("An action with this name exists."), code="duplicate")
    action = Action.objects.create(
        tenant=actor.tenant, description=description.strip()[:300], auth_header_name=auth_header_name.strip()[:80],
        auth_header_value=auth_header_value.strip()[:500], response_template=response_template.strip(),
        read_only=read_only, needs_approval=needs_approval, is_active=is_active,
        response_fields=_validated_response_fields(response_fields),
        requires_verified_visitor=bool(requires_verified_visitor), **fields,
    )
    _set_triggers(action, trigger_intents)
    bump_revision(tenant=actor.tenant, config=True)
    return action


@transaction.atomic
def update_action(*, actor: Membership, action_id: int, **changes: Any) -> Action:
    """Partial update. ``auth_header_value``: empty/None keeps the stored secret."""
    check_admin(actor)
    action = locked_owned(Action, _("Action not found."), tenant=actor.tenant, pk=action_id)
    merged = {
        "name": changes.get("name", action.name), "method": changes.get("method", action.method),
        "url_template": changes.get("url_template", action.url_template),
        "parameters": changes.get("parameters", action.parameters),
        "timeout_s": changes.get("timeout_s", action.timeout_s),
    }
    fields = _validated_action(**merged)
    if Action.objects.for_tenant(actor.tenant).filter(name=fields["name"]).exclude(pk=action_id).exists():
        raise ServiceError(_("An action with this name exists."), code="duplicate")
    for key, value in fields.items():
        setattr(action, key, value)
    for key in ("description", "auth_header_name", "response_template"):
        if key in changes:
            setattr(action, key, str(changes[key] or "").strip())
    for key in ("read_only", "needs_approval", "is_active", "requires_verified_visitor"):
        if key in changes:
            setattr(action, key, bool(changes[key]))
    if "response_fields" in changes:
        action.response_fields = _validated_response_fields(changes["response_fields"])
    if changes.get("auth_header_value"):
        action.auth_header_value = str(changes["auth_header_value"]).strip()[:500]
    if changes.get("clear_secret"):
        action.auth_header_value = ""
    action.save()
    _set_triggers(action, changes.get("trigger_intents"))
    bump_revision(tenant=actor.tenant, config=True)
    return action


@transaction.atomic
def delete_action(*, actor: Membership, action_id: int) -> None:
    check_admin(actor)
    delete_owned(Action, _("Action not found."), tenant=actor.tenant, pk=action_id)
    bump_revision(tenant=actor.tenant, config=True)


# =============================================================================== learning loop review


def agent_feedback(*, actor: Membership, message_id: int, kind: str, label: str = "", correction: str = "") -> None:
    """An agent's relabel / mark-wrong / correction of the visitor message ``message_id``
    (chat's id), using the text ml stored when it analysed the message."""
    from ml.models import AnalyzedMessage, FeedbackKind

    if kind not in (FeedbackKind.RELABEL, FeedbackKind.WRONG, FeedbackKind.CORRECTED):
        raise ServiceError(_("Unknown feedback kind."), code="invalid")
    analyzed = AnalyzedMessage.objects.for_tenant(actor.tenant_id).filter(message_id=message_id).first()
    if analyzed is None:
        raise ServiceError(_("Message not found."), code="not_found")
    if kind == FeedbackKind.RELABEL and not label:
        raise ServiceError(_("Choose an intent."), code="invalid")
    if kind == FeedbackKind.CORRECTED and not correction.strip():
        raise ServiceError(_("Write the correct answer."), code="invalid")
    record_feedback(tenant_id=actor.tenant_id, kind=kind, text=analyzed.text, label=label or None,
                    message_id=message_id, conversation_id=analyzed.conversation_id, correction=correction)
    if kind == FeedbackKind.CORRECTED:
        record_human_answer(tenant_id=actor.tenant_id, question=analyzed.text, answer=correction,
                            conversation_id=analyzed.conversation_id)


def decide_suggestion(*, actor: Membership, suggestion_id: int, accept: bool, title: str = "", body: str = "") -> Any:
    """Accept (optionally edited: creates a draft article) or reject a suggested article."""
    from ml.models import SuggestedArticle, SuggestionStatus

    check_admin(actor)
    with transaction.atomic():
        s = locked_owned(SuggestedArticle, _("Suggestion not found."), tenant=actor.tenant_id, pk=suggestion_id)
        if s.status != SuggestionStatus.PENDING:
            raise ServiceError(_("This suggestion was already decided."), code="invalid")
        article = None
        if accept:
            article = create_article(actor=actor, title=(title or s.question)[:200], body=body or s.answer,
                                     tags=["suggested"], status=ArticleStatus.DRAFT, language="en")
        SuggestedArticle.objects.for_tenant(actor.tenant_id).filter(pk=s.pk).update(
            status=SuggestionStatus.ACCEPTED if accept else SuggestionStatus.REJECTED, article=article,
            decided_at=timezone.now())
        if article is not None:  # the visitor's question is answered by this article
            from ml.models import RetrievalPairSource
            from ml.retrieval_training import record_retrieval_pair

            record_retrieval_pair(tenant_id=actor.tenant_id, question=s.question, article_id=article.pk,
                                  source=RetrievalPairSource.AGENT_ACCEPTED)
    return article


def draft_gap_article(*, actor: Membership, question_ids: list[int]) -> KnowledgeArticle:
    """"Draft article" on a gap: an extractive draft from agents' answers in the gap's
    conversations (ml.learning.gaps.draft_article), saved as a draft for the admin."""
    from ml.learning.gaps import GapCluster, draft_article
    from ml.models import SuggestedArticle, UnansweredQuestion
    from ml.serving import encode

    check_admin(actor)
    qs = list(UnansweredQuestion.objects.for_tenant(actor.tenant_id).filter(pk__in=question_ids))
    if not qs:
        raise ServiceError(_("Gap not found."), code="not_found")
    conv_ids = {q.conversation_id for q in qs if q.conversation_id is not None}
    answers = [{"id": s.pk, "text": s.answer} for s in
               SuggestedArticle.objects.for_tenant(actor.tenant_id).filter(conversation_id__in=conv_ids)]
    rep = max({q.text for q in qs}, key=lambda t: sum(1 for q in qs if q.text == t))
    cluster = GapCluster(id=0, count=len(qs), representative=rep, examples=[q.text for q in qs[:5]])
    draft = draft_article(cluster, answers, encode=lambda ts: encode(list(ts)))
    body = draft["body"] or _("No agent answers to these questions yet. Visitors asked:") + "\n\n" + "\n".join(
        f"- {q.text}" for q in qs[:10])
    return create_article(actor=actor, title=draft["title"][:200], body=body, tags=["gap"],
                          status=ArticleStatus.DRAFT, language="en")
