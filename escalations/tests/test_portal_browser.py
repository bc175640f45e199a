"""The customer's side in a real headless Chromium, on a desktop and on a narrow phone viewport."""

import pytest
from django.urls import reverse

from cases.models import Callback, Message
from cases.services.cases import case_create
from cases.services.notifications import notification_send
from cases.tests.factories import DepartmentFactory
from customers.tests.factories import CustomerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


VIEWPORTS = {"desktop": {"width": 1280, "height": 860}, "phone": {"width": 390, "height": 844}}


@pytest.fixture
def world():
    general = DepartmentFactory(slug="general", name="General support")
    carol = CustomerFactory(user__username="carol", name="Carol Diaz", user__first_name="Carol")
    case = case_create(
        customer=carol,
        channel="chat",
        department=general,
        subject="Package marked delivered but not here",
        first_message="The app says delivered at 14:02 but there is nothing at my door.",
    )
    notification_send(
        customer=carol,
        case=case,
        kind="refund",
        title="Your refund of $14.99 has been issued",
        body="We refunded $14.99 for the Prime charge made after you cancelled.",
    )
    return {"carol": carol, "case": case}


def _sign_in(page, base):
    page.goto(base + reverse("escalations:signin"))
    page.get_by_label("Username or e-mail").fill("carol")
    page.get_by_label("Password").fill("pass-word-123")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/my/cases/")


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_customer_signs_in_reads_case_replies_and_reads_message_center(
    screenshot, browser, live_server, world, viewport
):
    context = browser.new_context(viewport=VIEWPORTS[viewport])
    page = context.new_page()
    _sign_in(page, live_server.url)
    case = world["case"]

    # My cases: the case, its status and the promise
    assert page.get_by_text(case.reference).is_visible()
    assert page.get_by_text("We will reply by").first.is_visible()
    assert page.get_by_role("link", name="Message Center").inner_text().strip().endswith("1")
    screenshot(page, f"customer-my-cases-{viewport}.png")

    # Case detail: the public timeline, then a reply typed with a card number in it
    page.get_by_role("link", name=case.subject).click()
    page.get_by_text("nothing at my door").wait_for()
    page.get_by_label("Your reply").fill("Here is my card 4111-1111-1111-1111 if you need it")
    page.get_by_role("button", name="Send reply").click()
    page.locator(".side-customer", has_text="[card number removed]").wait_for()
    assert "4111" not in page.content()
    screenshot(page, f"customer-case-{viewport}.png")
    assert Message.objects.filter(case=case, kind="customer").count() == 2

    # Message Center: the refund confirmation
    page.get_by_role("link", name="Message Center").click()
    page.get_by_text("Your refund of $14.99 has been issued").wait_for()
    screenshot(page, f"customer-message-center-{viewport}.png")

    # Nothing is wider than the screen on a phone
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= VIEWPORTS[viewport]["width"]
    context.close()


def test_customer_requests_a_callback_with_keyboard_only(screenshot, browser, live_server, world):
    context = browser.new_context(viewport=VIEWPORTS["phone"])
    page = context.new_page()
    _sign_in(page, live_server.url)
    page.goto(live_server.url + reverse("escalations:callback_new"))
    assert page.get_by_text("ring within 60 seconds").is_visible()

    phone = page.get_by_label("Phone number")
    phone.fill("12")
    phone.press("Enter")
    page.get_by_role("alert").wait_for()
    assert "valid phone number" in page.get_by_role("alert").inner_text()

    page.get_by_label("Phone number").fill("+1 206 555 0100")
    page.keyboard.press("Tab")
    page.keyboard.type("Refund for a damaged kettle")
    page.keyboard.press("Enter")
    page.wait_for_url("**/my/cases/CS-*/")
    assert page.get_by_text("Your phone should ring within 60 seconds").is_visible()
    screenshot(page, "customer-callback-requested-phone.png")
    callback = Callback.objects.get()
    assert callback.phone == "+12065550100" and callback.case.customer == world["carol"]
    context.close()


def test_customer_reports_phishing_on_a_phone_and_it_reaches_the_fraud_queue(screenshot, browser, live_server, world):
    DepartmentFactory(slug="fraud", name="Fraud & account security")
    context = browser.new_context(viewport=VIEWPORTS["phone"])
    page = context.new_page()
    _sign_in(page, live_server.url)
    page.get_by_role("link", name="Report phishing").click()
    page.get_by_label("Tell us what you saw").fill(
        "An e-mail 'from support' asked me to confirm my password at amaz0n-refunds.example"
    )
    page.get_by_role("button", name="Send report").click()
    page.get_by_text("CS-").first.wait_for()
    screenshot(page, "customer-phishing-reported-phone.png")
    from cases.models import Case

    case = Case.objects.get(customer=world["carol"], department__slug="fraud")
    assert case.priority == 1 and case.status == Case.Status.NEW
    context.close()
