from ml import services
from ml.models import AnalyzedMessage, ModelVersion, SuggestedArticle, TrainingRun
from tests.isolation.cases import Case, no_kwargs


def _article(team):
    article = services.create_article(actor=team.owner, title=f"Canary article {team.tenant.slug}",
                                      body=f"Secret body {team.tenant.slug}", status="published")
    return {"pk": article.pk}, [article.title, article.body]


def _intent(team):
    intent = services.create_intent(actor=team.owner, name=f"canary_{team.tenant.slug}",
                                    examples=[f"canary example {team.tenant.slug}"])
    return {"pk": intent.pk}, [intent.name, f"canary example {team.tenant.slug}"]


def _action(team):
    action = services.create_action(actor=team.owner, name=f"canary-{team.tenant.slug}",
                                    url_template=f"https://{team.tenant.slug}.example.com/orders/{{order_number}}",
                                    parameters="order_number:order_number", auth_header_value=f"sekret-{team.tenant.slug}")
    return {"pk": action.pk}, [action.name, action.url_template, f"sekret-{team.tenant.slug}"]


def _import(team):
    job = services.start_import(actor=team.owner, kind="csv",
                                files=[(f"canary-{team.tenant.slug}.csv", b"question,answer\nq1,a1\n")])
    return {"pk": job.pk}, [job.filename]


def _version(team):
    version = ModelVersion.objects.create(tenant=team.tenant, kind="intent", version=1,
                                          data_hash=f"hash{team.tenant.slug}", reason=f"canary-{team.tenant.slug}")
    return {"pk": version.pk}, [version.data_hash, version.reason]


def _run(team):
    run = TrainingRun.objects.create(tenant=team.tenant, kind="intent", status="done",
                                     message=f"canary-run-{team.tenant.slug}")
    return {"pk": run.pk}, [run.message]


def _analyzed(team):
    AnalyzedMessage.objects.create(tenant=team.tenant, message_id=900 + team.tenant.pk, conversation_id=1,
                                   text=f"canary visitor text {team.tenant.slug}", intent="x")
    return [f"canary visitor text {team.tenant.slug}"]


def _suggestion(team):
    SuggestedArticle.objects.create(tenant=team.tenant, question=f"canary question {team.tenant.slug}",
                                    answer=f"canary answer {team.tenant.slug}")
    return [f"canary question {team.tenant.slug}", f"canary answer {team.tenant.slug}"]


def _policy_markers(team):
    services.update_policy(actor=team.owner, persona=f"Canary persona {team.tenant.slug}")
    return [f"Canary persona {team.tenant.slug}"]


def _ai_markers(team):
    return _policy_markers(team) + _intent(team)[1] + _action(team)[1]


def _list(fn):
    return no_kwargs(lambda team: fn(team)[1])


CASES = {
    "ml:knowledge": Case(setup=_list(_article), methods=("GET", "POST")),
    "ml:article": Case(setup=_article, methods=("GET", "POST")),
    "ml:ai": Case(setup=no_kwargs(_ai_markers), methods=("GET", "POST")),
    "article-list": Case(setup=_list(_article), body={"title": "t", "body": "b"}),
    "article-detail": Case(setup=_article, body={"title": "renamed"}),
    "knowledge-import-list": Case(setup=_list(_import), body={"kind": "csv"}),
    "knowledge-import-detail": Case(setup=_import),
    "intent-list": Case(setup=_list(_intent), body={"name": "x"}),
    "intent-detail": Case(setup=_intent, body={"name": "renamed"}),
    "intent-examples": Case(setup=_intent, body={"texts": ["hello"]}),
    "action-list": Case(setup=_list(_action), body={"name": "x", "url_template": "https://x.example.com"}),
    "action-detail": Case(setup=_action, body={"name": "renamed"}),
    "model-version-list": Case(setup=_list(_version)),
    "model-version-detail": Case(setup=_version),
    "ml:learning": Case(setup=_list(_version), methods=("GET", "POST")),
    "ml:learning-progress": Case(setup=_list(_run), methods=("GET",)),
    "ml:model-version": Case(setup=_version, methods=("GET",)),
    "ml:feedback": Case(setup=no_kwargs(_analyzed), methods=("GET", "POST")),
    "ml:gaps": Case(setup=no_kwargs(_suggestion), methods=("GET", "POST")),
    "model-version-serve": Case(setup=_version, methods=("POST",)),
    "training-run-list": Case(setup=_list(_run)),
    "training-run-detail": Case(setup=_run),
    "training-run-cancel": Case(setup=_run, methods=("POST",)),
    "message-feedback-list": Case(setup=no_kwargs(_analyzed), methods=("POST",),
                                  body={"message_id": 1, "kind": "wrong"}),
    "ai-policy": Case(setup=no_kwargs(_policy_markers), body={"max_bot_turns": 3}),
}
