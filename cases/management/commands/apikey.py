"""``manage.py apikey create|rotate|revoke|list``: machine-client keys (the raw key is printed once)."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from cases.errors import ApplicationError
from cases.models import ApiKey
from cases.services.api_keys import api_key_create, api_key_revoke, api_key_rotate


class Command(BaseCommand):
    help = "Create, rotate, revoke or list API keys of machine clients."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a key; prints it once.")
        create.add_argument("name")
        create.add_argument("--scope", action="append", dest="scopes", default=[], help=f"One of {ApiKey.Scope.values}")
        rotate = sub.add_parser("rotate", help="Replace a key; the old one stops after --grace-minutes.")
        rotate.add_argument("prefix")
        rotate.add_argument("--grace-minutes", type=int, default=0)
        revoke = sub.add_parser("revoke", help="Revoke a key at once.")
        revoke.add_argument("prefix")
        sub.add_parser("list", help="List keys (prefix, name, scopes, state); never the secrets.")

    def _key(self, prefix: str) -> ApiKey:
        try:
            return ApiKey.objects.get(prefix=prefix)
        except ApiKey.DoesNotExist:
            raise CommandError(f"No API key with prefix {prefix!r}.")

    def handle(self, *args, **options):
        action = options["action"]
        try:
            if action == "create":
                key, raw = api_key_create(name=options["name"], scopes=options["scopes"])
                self._print_secret(key, raw)
            elif action == "rotate":
                grace = timedelta(minutes=options["grace_minutes"])
                key, raw = api_key_rotate(key_id=self._key(options["prefix"]).pk, grace=grace)
                self._print_secret(key, raw)
            elif action == "revoke":
                key = api_key_revoke(key_id=self._key(options["prefix"]).pk)
                self.stdout.write(f"revoked {key.prefix} ({key.name}) at {key.revoked_at:%Y-%m-%d %H:%M:%S}Z")
            else:
                for key in ApiKey.objects.order_by("name", "created_at"):
                    state = "active" if key.is_active else ("revoked" if key.revoked_at else "expired")
                    used = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never"
                    self.stdout.write(f"{key.prefix}  {state:<8} {key.name:<30} {','.join(key.scopes):<30} used {used}")
        except ApplicationError as exc:
            raise CommandError(exc.message)

    def _print_secret(self, key: ApiKey, raw: str) -> None:
        self.stdout.write(f"prefix:         {key.prefix}")
        self.stdout.write(f"name:           {key.name}")
        self.stdout.write(f"scopes:         {','.join(key.scopes)}")
        self.stdout.write(f"api key:        {raw}")
        self.stdout.write(f"webhook secret: {key.webhook_secret}")
        self.stdout.write("Store both now: the API key is not stored and cannot be shown again.")
