"""Phones (390×844) in en and zh-hans: the demo host page with the widget, the agent inbox as
stacked views (list -> conversation -> details) and the dashboards, none wider than the screen.
Also the widget's phone behaviour: "Talk to a human" goes away once handed off, and the e-mail
box that then appears does not hide the newest message.
Served by uvicorn (real ASGI app, PostgreSQL, Redis channel layer); the bot is the plumbing fake
(tests/chat/fake_ml.py via tests/chat/live_settings.py), not the real models.
Screenshots: screenshots/phone-*.png."""

from __future__ import annotations

import pytest

from tenants import services as tenant_services
from tests.browser.conftest import shot
from tests.processes import free_port, uvicorn_server

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
OVERFLOW = "document.documentElement.scrollWidth"


def _assert_fits(page, what: str) -> None:
    width = page.evaluate(OVERFLOW)
    wide = page.evaluate("""() => Array.from(document.querySelectorAll('body *'))
        .filter(n => n.getBoundingClientRect().right > 391).slice(0, 8)
        .map(n => n.tagName + '.' + n.className + '#' + n.id + ' ' + Math.round(n.getBoundingClientRect().right))""")
    assert width <= 390, f"{what}: page is {width}px wide on a 390px screen; too wide: {wide}"


def _visitor_hands_off(chromium, base: str, key: str, lang: str):
    from playwright.sync_api import expect

    page = chromium.new_context(**PHONE).new_page()
    page.goto(f"{base}/demo/widget/{key}/?lang={lang}")
    _assert_fits(page, f"demo host ({lang})")
    shot(page, f"phone-demo-host-{lang}")
    page.locator("[data-kefu] .launch").click()
    panel = page.locator("[data-kefu] .panel")
    expect(panel).to_be_visible()
    assert panel.bounding_box()["width"] <= 390
    box = page.locator("[data-kefu] textarea")
    assert page.evaluate("() => getComputedStyle(document.querySelector('[data-kefu]').shadowRoot"
                         ".querySelector('textarea')).fontSize") == "16px"  # no zoom-on-focus
    for n in range(6):  # enough messages to fill the log, so a shrinking log would hide the newest
        box.fill(f"Question number {n} about my order")
        box.press("Enter")
        expect(page.locator("[data-kefu] .m.bot[data-seq]")).to_have_count(n + 1, timeout=20000)
    _assert_fits(page, f"widget ({lang})")
    human = page.locator("[data-kefu] button.human")
    expect(human).to_be_visible()
    human.click()
    expect(human).to_be_hidden(timeout=15000)  # handed off: no second "talk to a human"
    email = page.locator("[data-kefu] form.email")
    expect(email).to_be_visible(timeout=15000)  # nobody online: leave an e-mail
    page.wait_for_timeout(300)
    newest = page.locator("[data-kefu] .log > li.m").last
    log_box, last_box = page.locator("[data-kefu] .log").bounding_box(), newest.bounding_box()
    assert last_box["y"] + last_box["height"] <= log_box["y"] + log_box["height"] + 1, "e-mail box hides the newest message"
    assert last_box["y"] + last_box["height"] <= email.bounding_box()["y"] + 1
    _assert_fits(page, f"widget after handoff ({lang})")
    shot(page, f"phone-widget-handoff-{lang}")
    page.context.close()


def _agent_pages(chromium, base: str, team, lang: str) -> None:
    from playwright.sync_api import expect

    context = chromium.new_context(**PHONE)
    context.add_cookies([{"name": "django_language", "value": lang, "url": base}])
    page = context.new_page()
    page.goto(base + "/login/")
    page.fill("input[name=username]", team.agent.user.email)
    page.fill("input[name=password]", "correct-horse-9")
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url, timeout=15000)
    page.goto(f"{base}/t/{team.tenant.slug}/inbox/")
    assert page.get_attribute("html", "lang") == lang
    item = page.locator("#conv-list li button").first
    expect(item).to_be_visible(timeout=15000)
    expect(page.locator(".inbox-thread")).to_be_hidden()
    expect(page.locator(".inbox-side")).to_be_hidden()
    _assert_fits(page, f"inbox list ({lang})")
    shot(page, f"phone-inbox-list-{lang}")
    item.click()
    expect(page.locator(".inbox-thread")).to_be_visible()
    expect(page.locator(".inbox-list")).to_be_hidden()
    expect(page.locator("#messages li.visitor").first).to_be_visible(timeout=10000)
    expect(page.locator("#thread-status")).to_have_text({"en": "Open", "zh-hans": "进行中"}[lang])
    _assert_fits(page, f"inbox conversation ({lang})")
    shot(page, f"phone-inbox-conversation-{lang}")
    page.click(".inbox-panes button[data-pane=side]")
    expect(page.locator(".inbox-side")).to_be_visible()
    expect(page.locator(".inbox-thread")).to_be_hidden()
    _assert_fits(page, f"inbox details ({lang})")
    shot(page, f"phone-inbox-details-{lang}")
    page.click(".inbox-panes button[data-pane=list]")
    expect(page.locator(".inbox-list")).to_be_visible()

    page.goto(f"{base}/t/{team.tenant.slug}/dashboards/")
    page.wait_for_selector("body[data-charts=ready]", timeout=15000)
    _assert_fits(page, f"dashboards ({lang})")
    columns = page.evaluate("() => getComputedStyle(document.querySelector('.rp-kpis')).gridTemplateColumns")
    assert len(columns.split()) == 1, f"dashboard KPIs not single-column: {columns}"
    shot(page, f"phone-dashboards-{lang}")
    context.close()


def test_phone_layouts_in_english_and_chinese(chromium, team_a, tmp_path, monkeypatch):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    widget, _secret = tenant_services.create_widget(actor=team_a.owner, name="Phone Shop", allowed_origins=base)
    with uvicorn_server(tmp_path, port=port, DJANGO_SETTINGS_MODULE="tests.chat.live_settings",
                        KEFU_TASK_MODE="inprocess", KEFU_PUBLIC_BASE_URL=base):
        for lang in ("en", "zh-hans"):
            _visitor_hands_off(chromium, base, widget.public_key, lang)
            _agent_pages(chromium, base, team_a, lang)
