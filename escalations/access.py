"""The customer-side gate for pages: signed-in customers only; staff sessions get 403 (back office and portal
never mix). Case lookups then go through ``cases.selectors.case_get_for_customer``."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from customers.models import Customer


def customer_required(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("escalations:signin"))
        try:
            customer = request.user.customer
        except Customer.DoesNotExist:
            customer = None
        if customer is None or hasattr(request.user, "agent"):
            raise PermissionDenied("These pages are for customers.")
        request.customer = customer
        return view(request, *args, **kwargs)

    return wrapper
