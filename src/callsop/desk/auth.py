"""Who a request is from, read in one query.

Every desk request needs the logged-in user and their staff member (with
club and chain) to check what they may see. Django's ModelBackend reads the
user, and `staff_of` then read the staff member: two queries a request. The
backend here reads both at once; `staff_of` takes the staff member the user
came with."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class StaffBackend(ModelBackend):
    """ModelBackend, whose user comes with `user.staff`, its club and chain
    (a user who is no member of staff comes with none)."""

    def get_user(self, user_id: Any) -> Any:
        users = get_user_model()._default_manager
        try:
            user = users.select_related("staff__club", "staff__chain").get(pk=user_id)
        except get_user_model().DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
