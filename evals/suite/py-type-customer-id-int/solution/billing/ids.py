"""Customer ids as the orders dataset writes them: the customer number, an integer."""


def customer_number(value):
    """The orders customer_id as an int. ValueError naming the value when it is not one."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"not a customer id: {value!r}")
    return value
