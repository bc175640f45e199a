"""The customer's pages. They read cases only through the customer gate."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from cases.selectors import cases_visible_to_customer


@login_required
def my_cases(request):
    cases = cases_visible_to_customer(user=request.user).select_related("department").order_by("-created_at")[:50]
    return render(request, "escalations/my_cases.html", {"cases": cases})
