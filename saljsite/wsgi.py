"""WSGI entry point (gunicorn saljsite.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saljsite.settings")
application = get_wsgi_application()
