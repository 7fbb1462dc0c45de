from django.core.management.base import BaseCommand

from experiments.services.storefront_keys import storefront_key_create


class Command(BaseCommand):
    help = "Create a storefront API key; the key alone is printed on the last line (it is not stored)."

    def add_arguments(self, parser):
        parser.add_argument("name")

    def handle(self, *args, name: str, **options):
        api_key, key = storefront_key_create(name=name)
        self.stderr.write(
            f"Created storefront key {api_key.name!r} (prefix {api_key.prefix}). Keep it secret:"
        )
        self.stdout.write(key)
