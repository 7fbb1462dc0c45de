"""PostgreSQL ``COPY ... FROM STDIN`` in its text format, built in Python in blocks.

psycopg's ``Copy.write_row`` formats each value through Python-level adapters, several times the
cost of the rest of a bulk import's work; a row's line built here is one join and, rarely, one
escape.
"""

from collections.abc import Sequence

# COPY's text format: a backslash, tab, newline or carriage return inside a value is escaped.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
COPY_NULL = "\\N"
BLOCK_ROWS = 1_000  # lines handed to ``Copy.write`` at a time


def copy_text_fields(fields: Sequence[str]) -> str:
    """Text values as one COPY line's columns, tab-separated, without the newline.

    Fields are joined with NUL, which no stored text can hold (callers' validators refuse it), so
    the rare line that needs escaping is escaped in one pass and the separators put back."""
    line = "\0".join(fields)
    if "\\" in line or "\t" in line or "\n" in line or "\r" in line:
        line = line.translate(_COPY_ESCAPES)
    return line.replace("\0", "\t")


def copy_lines_write(copy, lines: Sequence[str]) -> None:
    """Send complete lines (each ending in a newline) to an open ``Copy``, ``BLOCK_ROWS`` at a time."""
    for start in range(0, len(lines), BLOCK_ROWS):
        copy.write("".join(lines[start : start + BLOCK_ROWS]))
