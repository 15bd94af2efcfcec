"""`manage.py demo_logins`: print the demo logins and their password."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from pipeline.demo import demo_logins_table


class Command(BaseCommand):
    help = "Print the demo logins (usernames, roles and the shared demo password)."

    def handle(self, *args, **options):
        self.stdout.write(demo_logins_table())
