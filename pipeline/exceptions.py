class AppendOnlyError(Exception):
    """Raised on any attempt to change or remove stage history."""
