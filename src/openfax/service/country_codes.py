"""ITU-T E.164 country codes, and the split of a fax number into country code and the rest,
as outbound routing needs it.

The list holds the codes assigned by the ITU (Recommendation E.164, annex to the ITU
Operational Bulletin), shared codes counted once: +1 for the North American numbering plan,
+7 for Russia and Kazakhstan. E.164 codes are prefix-free, so the first match is the only one.
"""

from __future__ import annotations

COUNTRY_CODES: frozenset[int] = frozenset(
    {1, 7, 20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49}
    | {51, 52, 53, 54, 55, 56, 57, 58, 60, 61, 62, 63, 64, 65, 66, 81, 82, 84, 86}
    | {90, 91, 92, 93, 94, 95, 98}
    | {211, 212, 213, 216, 218}
    | set(range(220, 259))
    | set(range(260, 270))
    | {290, 291, 297, 298, 299}
    | set(range(350, 360))
    | {370, 371, 372, 373, 374, 375, 376, 377, 378, 380, 381, 382, 383, 385, 386, 387, 389}
    | {420, 421, 423}
    | set(range(500, 510))
    | set(range(590, 600))
    | {670}
    | set(range(672, 684))
    | set(range(685, 693))
    | {800, 808, 850, 852, 853, 855, 856, 870, 878, 880, 881, 882, 883, 886, 888}
    | set(range(960, 969))
    | {970, 971, 972, 973, 974, 975, 976, 977, 979, 992, 993, 994, 995, 996, 998}
)
"""Every assigned E.164 country code."""


def split_number(number: str, *, own_country: int, international_prefix: str) -> tuple[int, str]:
    """The country code of a fax number and its national digits after it.

    Only digits count (spaces, dashes, brackets are ignored). A number beginning with ``+`` or
    ``international_prefix`` names its country by the assigned code its digits begin with (0
    when none is); any other number is national: ``own_country`` (0: unknown)
    with the trunk prefix ``0`` dropped, so ``0 20 7946 0000`` in the United Kingdom has area
    digits ``207946...``.
    """
    stripped = number.strip()
    digits = "".join(c for c in stripped if c.isdigit())
    if stripped.startswith("+"):
        international = digits
    elif international_prefix and digits.startswith(international_prefix):
        international = digits[len(international_prefix) :]
    else:
        return own_country, digits.removeprefix("0")
    for length in (1, 2, 3):
        if len(international) >= length and int(international[:length]) in COUNTRY_CODES:
            return int(international[:length]), international[length:]
    return 0, international
