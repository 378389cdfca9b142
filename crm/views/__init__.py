from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse

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


@login_not_required
def admin_login(request):
    """The admin's login page: anonymous visitors go to the one recorded login page; a user
    who is logged in but not staff is refused (redirecting them to log in again loops back
    here)."""
    if request.user.is_authenticated:
        raise PermissionDenied
    query = request.META.get("QUERY_STRING", "")
    return redirect(f"{reverse('login')}?{query}" if query else reverse("login"))
