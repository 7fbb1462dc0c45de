"""How an amount of the shop's currency is written for people: "$1,234.50", "EUR 1,234.50"."""

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}


def currency_symbol(code: str) -> str:
    """ "$" for USD; a currency without a well-known symbol is written by its code."""
    return SYMBOLS.get(code.upper(), code.upper())


def money_format(value: float, code: str) -> str:
    symbol = currency_symbol(code)
    sign = "-" if value < 0 else ""
    amount = f"{abs(value):,.2f}"
    return f"{sign}{symbol}{amount}" if len(symbol) == 1 else f"{sign}{symbol} {amount}"
