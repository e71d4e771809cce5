"""Accounts: users, passwords, logins and their throttle, contact details."""


def register() -> None:
    """Register this process's guards and actions with the core."""
    return None  # nothing to plug in: its services are called directly
