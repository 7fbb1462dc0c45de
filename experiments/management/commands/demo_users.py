import secrets

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand

from experiments.services.demo_world import groups_ensure

DEMO_USERS = (("admin", None), ("merch", "merchandiser"), ("analyst", "analyst"))


class Command(BaseCommand):
    help = "Create (or reset) the demo's admin, merchandiser and analyst logins and print them."

    def add_arguments(self, parser):
        parser.add_argument(
            "--port", type=int, default=8000, help="The port the demo serves on (for the URL)."
        )

    def handle(self, *args, port: int, **options):
        groups_ensure()
        self.stdout.write(f"Logins for http://127.0.0.1:{port}/admin/ (passwords are new each run):")
        for username, group in DEMO_USERS:
            password = secrets.token_urlsafe(9)
            user, _ = User.objects.get_or_create(username=username)
            user.is_staff = True
            user.is_superuser = group is None
            user.set_password(password)
            user.save()
            if group:
                user.groups.set([Group.objects.get(name=group)])
            self.stdout.write(f"  {username:<8} {password:<14} {group or 'superuser'}")
