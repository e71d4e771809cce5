"""Service functions, one per use case; keyword-only, with session, actor and `now` passed in."""
