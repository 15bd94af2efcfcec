"""URL configuration."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from people import views as people_views
from saljsite import views

urlpatterns = [
    # First: every API request resolves without walking the page, admin and i18n patterns
    # (none of which starts with "api/").
    path("api/v1/", include("saljsite.api.urls")),
    path("", people_views.home, name="home"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("people.urls")),
    path("activities/", include("activities.urls")),
    path("", include("pipeline.urls")),
    path("", include("kpis.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    # Browsers ask for /favicon.ico on pages that name no icon (the admin's).
    path("favicon.ico", views.favicon),
]
