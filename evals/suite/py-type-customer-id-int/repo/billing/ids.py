"""Customer ids as the orders dataset writes them: "C-" and six digits."""

PREFIX = "C-"


def customer_number(value):
    """The number inside an orders customer_id ("C-000042" -> 42). ValueError otherwise."""
    if not isinstance(value, str) or not value.startswith(PREFIX):
        raise ValueError(f"not a customer id: {value!r}")
    digits = value[len(PREFIX):]
    if len(digits) != 6 or not digits.isdigit():
        raise ValueError(f"not a customer id: {value!r}")
    return int(digits)
