"""Forms of the supervisor console and the case credit panel: parsing only, no business rules."""

from django import forms
from django.contrib.auth import get_user_model

from cases.console_selectors import MoneyFilters
from cases.models import Department, GoodwillCredit, Refund, Role


class _MoneyFilterForm(forms.Form):
    agent = forms.ModelChoiceField(queryset=None, required=False, empty_label="All agents")
    department = forms.ModelChoiceField(queryset=None, required=False, empty_label="All departments")
    status = forms.ChoiceField(required=False)
    amount_min = forms.DecimalField(required=False, min_value=0, max_digits=12, decimal_places=2, label="Amount from")
    amount_max = forms.DecimalField(required=False, min_value=0, max_digits=12, decimal_places=2, label="Amount to")
    date_from = forms.DateField(required=False, label="From (UTC)", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To (UTC)", widget=forms.DateInput(attrs={"type": "date"}))

    status_choices: list = []
    reason_choices: list = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agent"].queryset = (
            get_user_model().objects.filter(agent__isnull=False).order_by("username").only("id", "username")
        )
        self.fields["agent"].label_from_instance = lambda u: u.get_username()
        self.fields["department"].queryset = Department.objects.order_by("name").only("id", "name")
        self.fields["status"].choices = [("", "Any status"), *self.status_choices]
        self.fields["reason"] = forms.ChoiceField(required=False, choices=[("", "Any"), *self.reason_choices])

    def clean(self):
        data = super().clean()
        lo, hi = data.get("amount_min"), data.get("amount_max")
        if lo is not None and hi is not None and lo > hi:
            self.add_error("amount_max", "Must be at least the lower amount.")
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "Must be on or after the start date.")
        return data

    def filters(self) -> MoneyFilters:
        """The cleaned filters (empty filters when the form is invalid: the page shows the errors)."""
        if not self.is_valid():
            return MoneyFilters()
        d = self.cleaned_data
        return MoneyFilters(
            agent_id=d["agent"].pk if d.get("agent") else None,
            department_id=d["department"].pk if d.get("department") else None,
            reason=d.get("reason") or "",
            status=d.get("status") or "",
            amount_min=d.get("amount_min"),
            amount_max=d.get("amount_max"),
            date_from=d.get("date_from"),
            date_to=d.get("date_to"),
        )


class CreditFilterForm(_MoneyFilterForm):
    status_choices = GoodwillCredit.Status.choices
    reason_choices = GoodwillCredit.Reason.choices


class RefundFilterForm(_MoneyFilterForm):
    status_choices = Refund.Status.choices
    reason_choices = Refund.Source.choices


class CreditGrantForm(forms.Form):
    amount = forms.DecimalField(min_value=0.01, max_digits=12, decimal_places=2, label="Amount (USD)")
    reason_code = forms.ChoiceField(choices=[("", "Choose a reason"), *GoodwillCredit.Reason.choices], label="Reason")
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    note = forms.CharField(required=False, max_length=300)


class NoteForm(forms.Form):
    note = forms.CharField(max_length=2000)


class CreditLimitForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
    per_credit = forms.DecimalField(min_value=0.01, max_digits=12, decimal_places=2)
    per_day = forms.DecimalField(min_value=0.01, max_digits=12, decimal_places=2)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
