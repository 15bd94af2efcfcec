"""Activities are created through `activity_log`, as the product does."""

from __future__ import annotations

import factory
from django.utils import timezone

from activities import services
from activities.models import Activity
from people.tests.factories import UserFactory


class ActivityFactory(factory.Factory):
    class Meta:
        model = Activity

    owner = factory.SubFactory(UserFactory)
    kind = Activity.Kind.CALL
    status = Activity.Status.COMPLETED
    occurred_at = factory.LazyFunction(timezone.now)

    @classmethod
    def _create(cls, model_class, **kwargs):
        return services.activity_log(**kwargs)
