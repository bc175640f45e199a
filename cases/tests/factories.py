import factory
from django.utils import timezone

from cases import models
from customers.tests.factories import CustomerFactory, UserFactory


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Department
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"dept-{n}")
    name = factory.LazyAttribute(lambda d: d.slug.replace("-", " ").title())
    time_zone = "America/New_York"
    is_24_7 = True


class AgentFactory(factory.django.DjangoModelFactory):
    """An associate's profile; ``AgentFactory(role="supervisor", departments=[...])``."""

    class Meta:
        model = models.AgentProfile
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory, is_staff=False)
    role = models.Role.ASSOCIATE
    presence = models.AgentProfile.Presence.AVAILABLE

    @factory.post_generation
    def departments(self, create, extracted, **kwargs):
        if create and extracted:
            self.departments.set(extracted)


class CaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Case

    customer = factory.SubFactory(CustomerFactory)
    department = factory.SubFactory(DepartmentFactory, slug="general")
    channel = models.Channel.CHAT
    subject = "Where is my package?"
    created_at = factory.LazyFunction(timezone.now)
    queued_at = factory.LazyAttribute(lambda c: c.created_at)
    reference = factory.Sequence(lambda n: f"CS-2026-{900000 + n:06d}")


def waiting_case(**kwargs) -> models.Case:
    """A case waiting in its queue with the SLA due times the recompute stores (as ``case_create`` leaves it);
    ``CaseFactory`` alone leaves them empty."""
    from django.db import transaction

    from cases.services.sla import sla_recompute

    case = CaseFactory(**kwargs)
    with transaction.atomic():
        sla_recompute(case=case, now=case.created_at)
    case.refresh_from_db()
    return case
