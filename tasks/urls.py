from django.urls import path

from . import excel_views, extraction_views, views

app_name = "tasks"

urlpatterns = [
    path("tasks/", views.task_list, name="list"),
]
urlpatterns += excel_views.urlpatterns + extraction_views.urlpatterns
