"""Knowledge imports, embeddings task, portal pages and the API (MiniLM for embeddings)."""

from __future__ import annotations

import numpy as np
from django.urls import reverse

from ml import importing, services
from ml.models import KnowledgeArticle, KnowledgeChunk, KnowledgeImport


def test_html_import_is_sanitised_to_text():
    title, text = importing.html_to_text(
        "<html><head><title>Care guide</title><script>alert('x')</script><style>p{}</style></head>"
        "<body><h1>Washing</h1><p onclick=\"evil()\">Wash at <b>30</b> degrees.</p><ul><li>No bleach</li></ul></body></html>")
    assert title == "Care guide"
    assert "alert" not in text and "<" not in text and "onclick" not in text and "p{}" not in text
    assert "# Washing" in text and "Wash at 30 degrees." in text and "- No bleach" in text


def test_csv_import_runs_with_progress_and_embeds(team_a, django_capture_on_commit_callbacks):
    raw = b"question,answer,tags\nDo you gift wrap?,Yes - gift wrapping costs $3.,gifts\nq2,a2,\n"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = services.start_import(actor=team_a.owner, kind="csv", files=[("faq.csv", raw)])
    assert job.total == 2 and callbacks
    services.run_import(tenant_id=team_a.tenant.pk, import_id=job.pk)
    job = KnowledgeImport.objects.for_tenant(team_a.tenant).get(pk=job.pk)
    assert job.status == "done" and job.processed == 2 and job.created_count == 2 and job.percent == 100
    article = KnowledgeArticle.objects.for_tenant(team_a.tenant).get(title="Do you gift wrap?")
    assert article.status == "published" and article.tags == ["gifts"]
    assert services.embed_article(tenant_id=team_a.tenant.pk, article_id=article.pk) == 1
    chunk = KnowledgeChunk.objects.for_tenant(team_a.tenant).get(article=article)
    vec = np.frombuffer(bytes(chunk.embedding), dtype=np.float32)
    assert vec.shape == (384,) and abs(float(np.linalg.norm(vec)) - 1) < 1e-3
    # A second run of the same task is a no-op; an edit makes it embed again.
    assert services.embed_article(tenant_id=team_a.tenant.pk, article_id=article.pk) == 0


def test_portal_pages_render(client, team_a):
    services.create_article(actor=team_a.owner, title="Hello article", body="Body **bold** <script>x()</script>")
    client.force_login(team_a.owner.user)
    slug = team_a.tenant.slug
    assert b"Hello article" in client.get(reverse("ml:knowledge", args=[slug])).content
    article = KnowledgeArticle.objects.for_tenant(team_a.tenant).get()
    page = client.get(reverse("ml:article", args=[slug, article.pk])).content
    assert b"<strong>bold</strong>" in page and b"<script>x()" not in page
    assert client.get(reverse("ml:ai", args=[slug])).status_code == 200
    response = client.post(reverse("ml:ai", args=[slug]), {"op": "policy", "confidence_threshold": "0.5",
                                                           "negative_streak": "3", "max_bot_turns": "5",
                                                           "unsupported_language": "handoff"})
    assert response.status_code == 302
    from ml.selectors import policy_get

    assert policy_get(tenant=team_a.tenant).max_bot_turns == 5


def test_api_articles_policy_and_write_only_secret(client, team_a):
    client.force_login(team_a.owner.user)
    base = f"/api/t/{team_a.tenant.slug}"
    r = client.post(f"{base}/articles/", {"title": "API article", "body": "Text", "status": "published"},
                    content_type="application/json")
    assert r.status_code == 201, r.content
    r = client.patch(f"{base}/ai-policy/", {"max_bot_turns": 4}, content_type="application/json")
    assert r.status_code == 200 and r.json()["max_bot_turns"] == 4
    r = client.patch(f"{base}/ai-policy/", {"retrain_schedule": "nightly", "retrain_min_new": 25},
                     content_type="application/json")
    assert r.status_code == 200 and (r.json()["retrain_schedule"], r.json()["retrain_min_new"]) == ("nightly", 25)
    r = client.patch(f"{base}/ai-policy/", {"retrain_schedule": "every-minute"}, content_type="application/json")
    assert r.status_code == 400
    assert client.get(f"{base}/ai-policy/").json()["retrain_schedule"] == "nightly"
    r = client.post(f"{base}/actions/", {"name": "lookup", "url_template": "https://shop.example.com/o/{order_number}",
                                         "parameters": [{"name": "order_number", "type": "order_number"}],
                                         "auth_header_name": "Authorization", "auth_header_value": "Bearer TOPSECRET"},
                    content_type="application/json")
    assert r.status_code == 201, r.content
    assert "TOPSECRET" not in r.content.decode() and r.json()["has_secret"] is True
    assert "TOPSECRET" not in client.get(f"{base}/actions/").content.decode()
    # Agents may read but not write.
    client.force_login(team_a.agent.user)
    assert client.post(f"{base}/articles/", {"title": "x", "body": "y"}, content_type="application/json").status_code == 403


def test_openapi_schema_lists_the_ml_routes(client, team_a):
    client.force_login(team_a.owner.user)
    schema = client.get("/api/schema/").content.decode()
    for route in ("/articles/", "/intents/", "/actions/", "/ai-policy/", "/knowledge-imports/", "/model-versions/"):
        assert route in schema, route


def test_demo_order_api_and_public_article(client, team_a):
    assert client.get("/demo-api/orders/1001").json()["status"] == "shipped"
    assert client.get("/demo-api/orders/9999").status_code == 404
    draft = services.create_article(actor=team_a.owner, title="Draft", body="hidden")
    assert client.get(f"/help/{team_a.tenant.slug}/articles/{draft.pk}/").status_code == 404
    live = services.create_article(actor=team_a.owner, title="Live", body="shown", status="published")
    assert b"shown" in client.get(f"/help/{team_a.tenant.slug}/articles/{live.pk}/").content
