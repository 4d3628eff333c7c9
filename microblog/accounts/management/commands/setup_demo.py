import secrets

from django.core.management import call_command
from django.core.management.base import BaseCommand

from microblog.accounts.models import User


class Command(BaseCommand):
    help = "First run: create an admin (password printed once) and a small demo community."

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=30)
        parser.add_argument("--posts", type=int, default=300)

    def handle(self, *args, users: int, posts: int, **options):
        if User.objects.filter(is_superuser=True).exists():
            self.stdout.write("An admin exists already; the demo community is set up.")
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser("admin", "admin@localhost", password, display_name="Admin")
        call_command("seed", users=users, posts=posts, seed=1, follows=8, verbosity=options["verbosity"])
        from django.contrib.auth.models import Group

        Group.objects.get_or_create(name="moderator")
        self.stdout.write(
            self.style.SUCCESS(
                f"\n  Admin account: admin\n  Password:      {password}\n"
                "  (shown this once; change it at /accounts/password_change/)\n"
            )
        )
