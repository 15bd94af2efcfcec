"""URLs of the rep's activity pages (namespace `activities`)."""

from django.urls import path

from activities import views

app_name = "activities"

urlpatterns = [
    path("log/", views.log, name="log"),
    path("book/", views.book, name="book"),
    path("week/", views.week, name="week"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/complete/", views.complete, name="complete"),
    path("<int:pk>/cancel/", views.cancel, name="cancel"),
    path("<int:pk>/delete/", views.delete, name="delete"),
]
