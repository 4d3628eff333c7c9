from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from microblog.accounts.models import User
from microblog.accounts.services import create_access_token


class Command(BaseCommand):
    help = "Create a personal API token for an account and print it (it is shown only once)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="command line")

    def handle(self, *args, username: str, name: str, **options):
        user = User.objects.filter(username__iexact=username).first()
        if user is None:
            raise CommandError(f"No account @{username}.")
        try:
            _, raw = create_access_token(user, name)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(raw)
