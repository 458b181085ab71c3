"""Small helpers for reading ids and values out of query strings safely."""


def is_id(value) -> bool:
    """True for a plain database id: ASCII digits only (str.isdigit also accepts '²' and '٣', which int()
    refuses) and short enough for a bigint column."""
    return isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18
