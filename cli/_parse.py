"""The text of options that take lists and ranges, as config values (``ValueError`` naming the option)."""

from __future__ import annotations


def parse_sweep(text: str, flag: str) -> list[float]:
    """``START:STOP:COUNT`` -> ``[start, stop, count]`` (``ValueError`` naming ``flag`` otherwise)."""
    parts = text.split(":")
    try:
        start, stop, count = float(parts[0]), float(parts[1]), int(parts[2])
        if len(parts) != 3 or count < 2:
            raise ValueError
    except (ValueError, IndexError):
        raise ValueError(f"{flag} takes START:STOP:COUNT with COUNT >= 2, got {text!r}") from None
    return [start, stop, count]


def parse_count(text: int, flag: str) -> list[int]:
    """``S`` -> ``[0, 1, ..., S - 1]`` (``ValueError`` naming ``flag`` for ``S < 1``, or above the size limit in
    force: the config's ``max_elements``, under which ``Shared.resolve`` converts)."""
    from ctrnn.setup import check_size

    if text < 1:
        raise ValueError(f"{flag} takes a count >= 1, got {text}")
    return list(range(check_size(text, f"{flag} {text}", "give a smaller count")))


def parse_list(text: str, flag: str) -> list[str]:
    """``a,b,c`` -> ``["a", "b", "c"]``."""
    return [item.strip() for item in text.split(",") if item.strip()]


def parse_values(text: str, flag: str) -> list[float]:
    """``START:STOP:COUNT`` (evenly spaced) or ``a,b,c`` -> a list of floats; COUNT is checked against the size
    limit in force (the config's ``max_elements``, under which ``Shared.resolve`` converts) before the list is made."""
    if ":" in text:
        from ctrnn.setup import check_size

        start, stop, count = parse_sweep(text, flag)
        check_size(count, f"{flag} {text} (COUNT values)", "give a smaller COUNT")
        return [start + (stop - start) * i / (count - 1) for i in range(int(count))]
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"{flag} takes START:STOP:COUNT or a comma-separated list of numbers, got {text!r}") from None
