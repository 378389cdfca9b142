"""Tasks, activity logging, record timelines, notifications and the header search."""

from django.urls import path

from crm.views import activities, notifications, search, tasks

urlpatterns = [
    path("tasks/", tasks.task_list, name="tasks"),
    path("tasks/new/", tasks.task_new, name="task-new"),
    path("tasks/<int:pk>/", tasks.task_detail, name="task-detail"),
    path("tasks/<int:pk>/complete/", tasks.task_complete, name="task-complete"),
    path("tasks/<int:pk>/reopen/", tasks.task_reopen, name="task-reopen"),
    path("tasks/<int:pk>/reassign/", tasks.task_reassign, name="task-reassign"),
    path(
        "records/<str:record_type>/<int:pk>/activities/",
        activities.activity_log,
        name="activity-log",
    ),
    path(
        "records/<str:record_type>/<int:pk>/timeline/",
        activities.timeline,
        name="timeline",
    ),
    path(
        "records/<str:record_type>/<int:pk>/tasks/",
        tasks.record_task_add,
        name="record-task-add",
    ),
    path("notifications/", notifications.notification_list, name="notifications"),
    path("notifications/bell/", notifications.bell, name="notifications-bell"),
    path(
        "notifications/<int:pk>/open/",
        notifications.notification_open,
        name="notification-open",
    ),
    path(
        "notifications/read-all/",
        notifications.notifications_read_all,
        name="notifications-read-all",
    ),
    path("notifications/email/", notifications.notifications_email, name="notifications-email"),
    path("search/", search.search_page, name="search"),
    path("search/options/<str:record_type>/", search.search_options, name="search-options"),
]
