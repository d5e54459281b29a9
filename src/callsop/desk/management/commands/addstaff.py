"""`callsop manage addstaff`: a clerk, a club's manager or an HQ person who can log in."""

from __future__ import annotations

import getpass
import sys
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from callsop.desk.models import Chain, Club, Staff


class Command(BaseCommand):
    help = (
        "add a person who logs in to the desk: a clerk or manager of a club, or HQ of a chain;"
        " the password is asked for (or read from the first line of stdin)"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", required=True)
        parser.add_argument("--name", required=True, help="as the desk shows it, e.g. 陳怡君")
        parser.add_argument("--role", choices=Staff.Role.values, default=Staff.Role.CLERK)
        parser.add_argument("--club", help="the club's code (clerks and managers)")
        parser.add_argument("--chain", help="the chain's name (HQ only)")
        parser.add_argument("--extension", default="", help="the desk phone's extension")

    def handle(self, *args: Any, **options: Any) -> None:
        role = options["role"]
        username = options["username"].strip()
        if get_user_model().objects.filter(username=username).exists():
            raise CommandError(f"the user {username!r} exists already")
        if role == Staff.Role.HQ:
            chain = Chain.objects.filter(name=options["chain"] or "").first()
            if chain is None:
                raise CommandError("HQ needs --chain, the name of an existing chain")
            club = None
        else:
            club = Club.objects.select_related("chain").filter(code=options["club"] or "").first()
            if club is None:
                raise CommandError("a clerk or manager needs --club, the code of an existing club")
            chain = club.chain
        password = self._password()
        try:
            validate_password(password)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        with transaction.atomic():
            user = get_user_model().objects.create_user(username=username, password=password)
            Staff.objects.create(
                user=user,
                chain=chain,
                club=club,
                role=role,
                name=options["name"].strip(),
                extension=options["extension"].strip(),
            )
        where = club.name if club else chain.name
        self.stdout.write(f"{username}: {options['name']} ({role}) of {where}")

    def _password(self) -> str:
        if sys.stdin.isatty():
            first = getpass.getpass("password: ")
            if getpass.getpass("again: ") != first:
                raise CommandError("the two passwords differ")
            return first
        return sys.stdin.readline().rstrip("\n")
