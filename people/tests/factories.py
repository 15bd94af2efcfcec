from __future__ import annotations

import factory

from people.models import Team, User


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Team {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"rep{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    role = User.Role.AE
    team = factory.SubFactory(TeamFactory)
    password = factory.django.Password("pw-for-tests-1")


class ManagerFactory(UserFactory):
    class Meta:
        skip_postgeneration_save = True

    role = User.Role.MANAGER
    is_staff = True

    @factory.post_generation
    def managers_group(self, create, extracted, **kwargs):
        from django.contrib.auth.models import Group

        if create:
            self.groups.add(Group.objects.get(name="Managers"))
            if self.team is not None and self.team.manager_id is None:
                self.team.manager = self
                self.team.save(update_fields=["manager"])
