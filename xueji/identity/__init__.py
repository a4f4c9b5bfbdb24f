"""Identity resolution: deciding that two rows are one person.

``resolve_identities(tables, cfg, as_of)`` → ``Identity``: registry person clusters
(duplicates, ``dup_group_id``), attendance persons linked to registry records, and
residence rows linked to registry records. Blocking keys and comparison levels are
declared as data in ``xueji.identity.spec``.
"""

from xueji.identity.resolve import resolve_identities
from xueji.identity.result import (
    ATTENDANCE_DAYS_SCHEMA,
    ATTENDANCE_MASKS_SCHEMA,
    ATTENDANCE_PERSONS_SCHEMA,
    RECORDS_SCHEMA,
    RESIDENCE_LINKS_SCHEMA,
    Identity,
)

__all__ = [
    "ATTENDANCE_DAYS_SCHEMA",
    "ATTENDANCE_MASKS_SCHEMA",
    "ATTENDANCE_PERSONS_SCHEMA",
    "RECORDS_SCHEMA",
    "RESIDENCE_LINKS_SCHEMA",
    "Identity",
    "resolve_identities",
]
