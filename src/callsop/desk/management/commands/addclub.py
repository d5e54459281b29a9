"""`callsop manage addclub`: a club (and its chain, the first time) for a new desk."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from callsop.desk.models import Chain, Club, ClubLine
from callsop.engine.history import normalise_phone


class Command(BaseCommand):
    help = "add a club (its chain is made the first time), with the numbers customers dial"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--chain", required=True, help="the chain's name, e.g. 康活健身")
        parser.add_argument("--code", required=True, help="a short code, e.g. xinyi")
        parser.add_argument("--name", required=True, help="the club's name, e.g. 信義會館")
        parser.add_argument("--timezone", default="Asia/Taipei")
        parser.add_argument(
            "--line", action="append", default=[], help="a number customers dial (repeatable)"
        )

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        code = options["code"].strip()
        if Club.objects.filter(code=code).exists():
            raise CommandError(f"a club with code {code!r} exists already")
        chain, _ = Chain.objects.get_or_create(name=options["chain"].strip())
        club = Club.objects.create(
            chain=chain, code=code, name=options["name"].strip(), timezone=options["timezone"]
        )
        for number in options["line"]:
            digits = normalise_phone(number)
            if not digits:
                raise CommandError(f"--line {number!r}: not a phone number")
            ClubLine.objects.create(club=club, number=digits)
        self.stdout.write(f"club {club.code} ({club.name}) of {chain.name}")
