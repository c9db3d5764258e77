"""The one exception type a user's mistake turns into.

The command line prints its message as a single line and exits non-zero; the server turns it
into a 4xx answer. Anything else that escapes is a bug in digitscan, not in the user's input.
"""

from __future__ import annotations

__all__ = ["DigitscanError"]


class DigitscanError(Exception):
    """A problem with what the user gave us, with a message that says how to fix it."""
