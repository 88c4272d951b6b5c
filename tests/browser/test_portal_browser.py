"""Sign-up, login and the portal shell in a real browser, in English and Simplified Chinese."""

import pytest

from tests.browser.conftest import shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_up_log_out_log_in_and_portal_shell(chromium, live_server):
    from playwright.sync_api import expect

    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(f"{live_server.url}/signup/")
    shot(page, "portal-signup-en")
    page.fill("input[name=full_name]", "Lin Wei")
    page.fill("input[name=business_name]", "Lin's Tea House")
    page.fill("input[name=email]", "lin@tea.example")
    page.fill("input[name=password]", "12345678")
    page.click("button[type=submit]")
    # Bad input: a clear error, the form keeps what was typed.
    assert "too common" in page.text_content(".msg.error")
    assert page.input_value("input[name=business_name]") == "Lin's Tea House"
    page.fill("input[name=password]", "oolong-2026-leaves")
    page.click("button[type=submit]")
    # A new tenant lands on the onboarding checklist; each step links to where it is done.
    page.wait_for_url("**/t/lins-tea-house/start/")
    assert "Welcome to Kefu" in page.text_content(".messages")
    expect(page.locator("[data-done=false]")).to_have_count(4)
    shot(page, "portal-start-en")
    page.click("[data-step=widget] a")
    page.wait_for_url("**/t/lins-tea-house/settings/")
    nav = page.text_content("nav")
    for label in ("Settings", "Members"):
        assert label in nav
    # Create a widget through the form; the secret is shown once.
    page.fill("form:has(input[value=create_widget]) input[name=name]", "Website")
    page.fill("form:has(input[value=create_widget]) input[name=allowed_origins]", "https://tea.example")
    page.click("form:has(input[value=create_widget]) button[type=submit]")
    assert "Identity secret (shown once" in page.text_content(".messages")
    assert "data-kefu-widget" in page.text_content(".snippet pre")
    shot(page, "portal-settings-en")
    page.click("text=Members")
    page.wait_for_url("**/members/")
    expect(page.locator("table")).to_contain_text("lin@tea.example")
    shot(page, "portal-members-en")

    # Switch the portal to Simplified Chinese.
    page.select_option("select[name=language]", "zh-hans")
    # The switch posts a form and reloads: wait for the translated page, not the old one.
    expect(page.locator("nav")).to_contain_text("成员")
    expect(page.locator("nav")).to_contain_text("设置")
    expect(page.locator("main")).to_contain_text("邀请成员")
    shot(page, "portal-members-zh")

    page.click("text=退出登录")
    page.wait_for_url("**/login/")
    page.fill("input[name=username]", "lin@tea.example")
    page.fill("input[name=password]", "wrong-password")
    page.click("button[type=submit]")
    assert page.locator(".msg.error").count() == 1
    page.fill("input[name=password]", "oolong-2026-leaves")
    page.click("button[type=submit]")
    page.wait_for_url("**/t/lins-tea-house/**")
    shot(page, "portal-after-login-zh")
    context.close()


def test_phone_sized_login_page(chromium, live_server):
    context = chromium.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    box = page.locator(".auth-card").bounding_box()
    assert box is not None and box["width"] <= 390
    shot(page, "portal-login-phone")
    context.close()
