"""The help flow in a real headless Chromium: Customer Service → Something Else → I need more help → the
assistant chat; "Request a phone call" → number → "Call me now" opens a callback case; repeated "Talk to a
representative" offers the transfer and the conversation reaches a human queue as a live-chat case."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from cases.models import Callback, Case
from cases.tests.factories import DepartmentFactory
from customers.tests.factories import CustomerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def carol():
    DepartmentFactory(slug="general", name="General support")
    DepartmentFactory(slug="fraud", name="Fraud & account security")
    return CustomerFactory(user__username="carol", name="Carol Diaz", user__first_name="Carol")


def _sign_in_and_open_chat(page, base):
    page.goto(base + reverse("escalations:signin"))
    page.get_by_label("Username or e-mail").fill("carol")
    page.get_by_label("Password").fill("pass-word-123")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/my/cases/")
    page.get_by_role("link", name="Customer Service").click()
    page.wait_for_url("**/help/")
    assert page.get_by_role("link", name="Report phishing / suspicious activity").first.is_visible()
    page.get_by_role("link", name="Something Else").click()
    page.get_by_role("button", name="I need more help").click()
    page.wait_for_url("**/help/chat/*/")
    page.get_by_text("Tell me what you need help with").wait_for()
    page.wait_for_load_state("networkidle")  # htmx and the page's assets loaded: Send goes through htmx


def _say(page, text):
    before = page.locator(".transcript li").count()
    page.get_by_label("Message").fill(text)
    page.get_by_role("button", name="Send").click()
    page.locator(".transcript li").nth(before + 1).wait_for()  # the customer's line and the assistant's answer
    page.wait_for_load_state("networkidle")  # the swap has settled before the next field is typed into


def test_request_a_phone_call_then_call_me_now_creates_a_callback_case(screenshot, browser, live_server, carol):
    context = browser.new_context(viewport={"width": 1100, "height": 820})
    page = context.new_page()
    _sign_in_and_open_chat(page, live_server.url)
    screenshot(page, "help-chat-start.png")

    _say(page, "Request a phone call")
    page.get_by_role("button", name="Call me now").wait_for()
    page.get_by_label("Your phone number").fill("555")
    expect(page.get_by_label("Your phone number")).to_have_value("555")
    with page.expect_response(lambda r: r.request.method == "POST" and "/callback/" in r.url) as sent:
        page.get_by_role("button", name="Call me now").click()
    assert sent.value.status == 400
    page.get_by_text("valid phone number").wait_for()
    assert Case.objects.count() == 0

    page.get_by_label("Your phone number").fill("+1 415 555 0142")
    screenshot(page, "help-chat-callback-form.png")
    page.get_by_role("button", name="Call me now").click()
    page.get_by_text("Your phone should ring within").wait_for()
    screenshot(page, "help-callback-requested.png")

    callback = Callback.objects.select_related("case").get()
    assert callback.phone == "+14155550142"
    assert callback.case.channel == "callback" and callback.case.customer == carol
    assert callback.case.status == Case.Status.NEW and callback.case.department.slug == "general"
    context.close()


def test_repeated_talk_to_a_representative_reaches_a_human_queue(screenshot, browser, live_server, carol):
    context = browser.new_context(viewport={"width": 1100, "height": 820})
    page = context.new_page()
    _sign_in_and_open_chat(page, live_server.url)

    _say(page, "Talk to a representative")
    assert page.get_by_role("button", name="Chat with an associate").count() == 0
    _say(page, "Talk to a representative")
    page.get_by_role("button", name="Chat with an associate").wait_for()
    screenshot(page, "help-chat-transfer-offer.png")
    page.get_by_role("button", name="Chat with an associate").click()
    page.wait_for_url("**/chat/CS-*/")

    case = Case.objects.get()
    assert case.channel == "chat" and case.status == Case.Status.NEW and case.department.slug == "general"
    assert case.escalation_reasons[0]["trigger"] == "repeated_representative"
    assert case.messages.filter(kind="customer").count() == 2
    assert case.reference in page.url
    context.close()


def test_phishing_report_is_always_open(screenshot, browser, live_server, carol):
    context = browser.new_context(viewport={"width": 1100, "height": 820})
    page = context.new_page()
    _sign_in_and_open_chat(page, live_server.url)
    page.get_by_role("link", name="Report phishing").first.click()
    page.get_by_label("Tell us what you saw").fill("A text said my account is locked and linked to amaz0n-help.example")
    screenshot(page, "help-report-phishing.png")
    page.get_by_role("button", name="Send report").click()
    page.get_by_text("Thank you, we have your report").wait_for()

    case = Case.objects.get()
    assert case.department.slug == "fraud" and case.priority == 1
    context.close()
