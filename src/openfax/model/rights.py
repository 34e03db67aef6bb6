"""What the access rights mean together: the bits one right implies, the defaults of an
account and of an administrator, and the older FAX_ACCESS_RIGHTS_ENUM as a view of the
account model's FAX_ACCESS_RIGHTS_ENUM_2 (the rights OpenFax stores and checks)."""

from __future__ import annotations

from functools import reduce
from operator import or_

from openfax.model.enums import AccessRights, AccessRights2

_R2 = AccessRights2
_R = AccessRights

SUBMIT_RIGHTS = _R2.SUBMIT_LOW | _R2.SUBMIT_NORMAL | _R2.SUBMIT_HIGH
"""Any of these lets an account submit, and see and manage its own jobs and messages."""

ALL_RIGHTS = reduce(or_, AccessRights2, _R2(0))
"""Every right: what an administrator holds."""

DEFAULT_RIGHTS = SUBMIT_RIGHTS | _R2.QUERY_CONFIG
"""An account's rights until an administrator grants others, as Windows gives its users:
submit at every priority, see and manage its own faxes, read the configuration."""

_IMPLIED = {
    _R2.SUBMIT_HIGH: _R2.SUBMIT_NORMAL | _R2.SUBMIT_LOW,
    _R2.SUBMIT_NORMAL: _R2.SUBMIT_LOW,
    _R2.MANAGE_OUT_JOBS: _R2.QUERY_OUT_JOBS,
    _R2.MANAGE_CONFIG: _R2.QUERY_CONFIG,
    _R2.MANAGE_ARCHIVES: _R2.QUERY_ARCHIVES,
}
"""A right that includes others (SUBMIT_HIGH implies NORMAL and LOW, as FAXCOMEX says;
managing something implies querying it)."""

_LEGACY = {
    _R2.SUBMIT_LOW: _R.SUBMIT_LOW,
    _R2.SUBMIT_NORMAL: _R.SUBMIT_NORMAL,
    _R2.SUBMIT_HIGH: _R.SUBMIT_HIGH,
    _R2.QUERY_OUT_JOBS: _R.QUERY_JOBS,
    _R2.MANAGE_OUT_JOBS: _R.MANAGE_JOBS,
    _R2.QUERY_CONFIG: _R.QUERY_CONFIG,
    _R2.MANAGE_CONFIG: _R.MANAGE_CONFIG,
    _R2.QUERY_ARCHIVES: _R.QUERY_IN_ARCHIVE | _R.QUERY_OUT_ARCHIVE,
    _R2.MANAGE_ARCHIVES: _R.MANAGE_IN_ARCHIVE | _R.MANAGE_OUT_ARCHIVE,
    _R2.MANAGE_RECEIVE_FOLDER: _R.QUERY_IN_ARCHIVE | _R.MANAGE_IN_ARCHIVE,
}


def effective_rights(granted: AccessRights2) -> AccessRights2:
    """The rights ``granted`` gives with the ones each of them implies."""
    rights = AccessRights2(granted)
    for right, implied in _IMPLIED.items():
        if right in rights:
            rights |= implied
    return rights


def legacy_rights(rights: AccessRights2) -> AccessRights:
    """The same rights in the XP/2003 model (``IFaxSecurity.GrantedRights``)."""
    return reduce(or_, (old for new, old in _LEGACY.items() if new in rights), _R(0))


def rights_of_legacy(rights: AccessRights) -> AccessRights2:
    """The account model's rights an XP/2003 mask gives: each right whose older bits are all
    in ``rights`` (so ``legacy_rights`` of the result may hold fewer bits than ``rights``
    when they are not a whole right: QUERY_IN_ARCHIVE alone gives none)."""
    return reduce(or_, (new for new, old in _LEGACY.items() if old in rights), _R2(0))
