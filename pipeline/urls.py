"""URLs of the rep's leads inbox and pipeline pages (namespace `pipeline`)."""

from django.urls import path

from pipeline import views

app_name = "pipeline"

urlpatterns = [
    path("search/", views.search, name="search"),
    path("leads/", views.leads, name="leads"),
    path("leads/<int:pk>/respond/", views.lead_respond, name="lead_respond"),
    path("leads/<int:pk>/convert/", views.lead_convert, name="lead_convert"),
    path("pipeline/", views.board, name="board"),
    path("pipeline/new/", views.opportunity_create, name="opportunity_create"),
    path("pipeline/<int:pk>/", views.opportunity_detail, name="opportunity_detail"),
    path("pipeline/<int:pk>/move/", views.opportunity_move, name="opportunity_move"),
]
