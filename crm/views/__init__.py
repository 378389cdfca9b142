from django.contrib.auth import views as auth_views
from django.shortcuts import render

from crm import services


class LoginView(auth_views.LoginView):
    """Django's login page, recording each successful login for the adoption KPIs."""

    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        services.login_record(user=form.get_user())
        return response


def home(request):
    """My day: tasks due by today, new leads, quiet deals and the month's numbers."""
    from .tasks import my_day

    return render(request, "crm/home.html", {"section": "home", **my_day(request.user)})
