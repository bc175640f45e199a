"""Forms of the customer's pages: labelled, validated here, never holding business rules."""

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from customers.validators import normalize_phone


class CustomerSignInForm(AuthenticationForm):
    """Customers only: a staff account is refused here with the same message as a wrong password."""

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if not hasattr(user, "customer") or hasattr(user, "agent"):
            raise ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )


class ReplyForm(forms.Form):
    body = forms.CharField(
        label="Your reply",
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "off"}),
        max_length=settings.RH["MAX_MESSAGE_LENGTH"],
        help_text="Never include your password or your full card number.",
    )


class ReopenForm(forms.Form):
    reason = forms.CharField(
        label="What is still wrong?", max_length=300, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class CallbackForm(forms.Form):
    phone = forms.CharField(
        label="Phone number",
        max_length=32,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"}),
        help_text="Include the country code for numbers outside the US, e.g. +44 20 7946 0958.",
    )
    topic = forms.CharField(label="What do you need help with?", max_length=300, required=False)

    def clean_phone(self):
        return normalize_phone(self.cleaned_data["phone"])


class ChatMessageForm(forms.Form):
    """One message to the assistant in the help flow."""

    text = forms.CharField(max_length=settings.RH["MAX_MESSAGE_LENGTH"], strip=True, label="Message")


class PhoneForm(forms.Form):
    """ "Call me now" from the assistant chat; the service normalises to E.164 and reports a bad number."""

    phone = forms.CharField(max_length=32, label="Your phone number", help_text="e.g. +1 415 555 0123")


class PhishingReportForm(forms.Form):
    KIND_CHOICES = [
        ("phishing", "A suspicious e-mail, text or call"),
        ("account", "Suspicious activity on my account"),
    ]
    kind = forms.ChoiceField(choices=KIND_CHOICES, widget=forms.RadioSelect, initial="phishing", label="What happened?")
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=settings.RH["MAX_MESSAGE_LENGTH"],
        label="Tell us what you saw",
        help_text="Do not type your password or card number: we never need them.",
    )
    url = forms.CharField(max_length=500, required=False, label="Link or sender (optional)")
    token = forms.CharField(widget=forms.HiddenInput, max_length=64)


class SettlementClaimForm(forms.Form):
    """The subscription-settlement claim form (the dedicated claims channel)."""

    token = forms.CharField(widget=forms.HiddenInput, max_length=64)
    claim_number = forms.RegexField(
        label="Claim number from your notice",
        regex=r"^[A-Za-z0-9\-]{4,32}$",
        max_length=32,
        required=False,
        help_text="Printed on the settlement notice, e.g. PRM-2026-12345. Leave empty if you have no notice.",
        error_messages={"invalid": "Use the letters, digits and dashes printed on your notice."},
    )
    membership_email = forms.EmailField(label="E-mail address of the Prime membership", max_length=254)
    period_start = forms.DateField(label="Charged from", widget=forms.DateInput(attrs={"type": "date"}))
    period_end = forms.DateField(label="Charged until", widget=forms.DateInput(attrs={"type": "date"}))
    details = forms.CharField(
        label="What happened?",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="For example: charged at the new rate after cancelling. Never include your password or card number.",
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("period_start"), data.get("period_end")
        if start and end and end < start:
            self.add_error("period_end", "The end of the period must be after its start.")
        return data
