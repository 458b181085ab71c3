from django.urls import path

from . import excel_views, extraction_views, views

app_name = "tasks"

urlpatterns = [
    path("tasks/", views.task_list, name="list"),
    path("tasks/new/", views.TaskFormView.as_view(), name="create"),
    path("tasks/deleted/", views.DeletedTaskList.as_view(), name="deleted"),
    path("tasks/<int:pk>/", views.task_detail, name="detail"),
    path("tasks/<int:pk>/edit/", views.TaskFormView.as_view(), name="edit"),
    path("tasks/<int:pk>/delete/", views.TaskDeleteView.as_view(), name="delete"),
    path("tasks/<int:pk>/restore/", views.TaskRestoreView.as_view(), name="restore"),
]
urlpatterns += excel_views.urlpatterns + extraction_views.urlpatterns
