"""The Celery application. Tasks live in each app's `tasks.py` and carry explicit names."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saljsite.settings")

app = Celery("saljsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
