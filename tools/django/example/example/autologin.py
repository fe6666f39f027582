"""Demo only (tools/django/screenshot): with EXAMPLE_AUTOLOGIN=<username>, every request is logged
in as that user, so a headless browser can render the admin. Never set it on a real site."""
import os

from django.contrib.auth import get_user_model, login


class AutoLoginMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.username = os.environ.get("EXAMPLE_AUTOLOGIN")

    def __call__(self, request):
        if self.username and not request.user.is_authenticated:
            user = get_user_model().objects.get(username=self.username)
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return self.get_response(request)
