"""The append-only transfer event log: one SHA-256 chain over every event.

Each event's hash covers the previous event's hash and the event's own content
(transfer, action, states, actor, time, note, payload) — not its id, so a row moved
to another position still carries a valid hash of its own but no longer links to
its neighbour, which is how reordering is told apart from editing. Ids are given out
under the chain-head lock, one after the other, so a gap in ids is a deletion.

``verify_log`` walks the chain and then checks every transfer row against its events;
it reports the first problem it meets.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from xueji.db import session_scope
from xueji.db.models import EventChainHead, Transfer, TransferEvent
from xueji.workflow.chain import next_step, party_label

GENESIS_HASH = "0" * 64
CHINA = timezone(timedelta(hours=8), "CST")  # China keeps one offset all year, no DST.

# Transfer columns an ``apply`` event records; verify_log compares the row with them.
SNAPSHOT_COLUMNS = (
    "student_no",
    "from_school_code",
    "from_county_code",
    "to_school_code",
    "to_county_code",
    "grade",
    "to_class",
    "reason",
    "explanation",
    "evidence",
    "steps",
    "submitted_by",
)
OPENING_ACTIONS = ("apply", "seed")
# The event columns its hash covers (all but id, prev_hash and hash itself).
CONTENT_COLUMNS = (
    "transfer_id",
    "action",
    "from_state",
    "to_state",
    "actor",
    "actor_org",
    "at",
    "note",
    "payload",
)


def utc_now() -> datetime:
    """Now, timezone-aware in UTC (SQLModel refuses naive datetimes)."""
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; SQLite hands back naive datetimes, which we stored as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def local_text(moment: datetime) -> str:
    """``2026-11-20 10:31`` in China time, for messages and tables."""
    return as_utc(moment).astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def canonical(value: Any) -> str:
    """Stable JSON text: sorted keys, no spaces, Chinese kept as is."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def event_hash(prev_hash: str, content: Mapping[str, Any]) -> str:
    """SHA-256 over the previous hash and the event's content."""
    values = [content[c] for c in CONTENT_COLUMNS]
    values[CONTENT_COLUMNS.index("at")] = as_utc(content["at"]).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    body = canonical(values)
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def snapshot(transfer: Mapping[str, Any]) -> str:
    """The canonical text of the transfer columns that never change after submission."""
    return canonical({c: transfer[c] for c in SNAPSHOT_COLUMNS})


def append_events(session: Session, contents: Sequence[Mapping[str, Any]]) -> list[int]:
    """Append events inside the caller's transaction and move the chain head; returns their ids.

    Each content mapping holds transfer_id, action, from_state, to_state, actor, actor_org,
    at, note and payload. The head row is locked first (``SELECT ... FOR UPDATE`` on
    PostgreSQL; on SQLite the writer already holds the database lock), so concurrent
    writers chain one after another.
    """
    head = session.execute(
        select(col(EventChainHead.last_event_id), col(EventChainHead.last_hash))
        .where(col(EventChainHead.id) == 1)
        .with_for_update()
    ).one()
    rows: list[dict[str, Any]] = []
    prev, last_id = head.last_hash, head.last_event_id
    for content in contents:
        last_id += 1
        fields = {c: content.get(c) for c in CONTENT_COLUMNS} | {"at": as_utc(content["at"])}
        digest = event_hash(prev, fields)
        rows.append({"id": last_id, "prev_hash": prev, "hash": digest, **fields})
        prev = digest
    if rows:
        conn = session.connection()
        conn.execute(insert(TransferEvent), rows)
        conn.execute(
            update(EventChainHead)
            .where(col(EventChainHead.id) == 1)
            .values(last_event_id=last_id, last_hash=prev)
        )
    return [r["id"] for r in rows]


def append_event(
    session: Session,
    *,
    transfer_id: int,
    action: str,
    from_state: str | None,
    to_state: str,
    actor: str,
    actor_org: str | None,
    at: datetime,
    note: str | None = None,
    payload: str | None = None,
) -> int:
    """Append one event (see ``append_events``); returns its id."""
    content = {
        "transfer_id": transfer_id,
        "action": action,
        "from_state": from_state,
        "to_state": to_state,
        "actor": actor,
        "actor_org": actor_org,
        "at": at,
        "note": note,
        "payload": payload,
    }
    return append_events(session, [content])[0]


@dataclass(frozen=True)
class LogCheck:
    """The outcome of ``verify_log``: ok, counts, and the first problem found."""

    ok: bool
    events: int
    transfers: int
    head_hash: str
    problem: str | None = None
    event_id: int | None = None


def _content(row: Any) -> dict[str, Any]:
    return {c: getattr(row, c) for c in CONTENT_COLUMNS}


def _ids(first: int, last: int) -> str:
    return f"event {first} was" if first == last else f"events {first}–{last} were"


def _check_chain(events: Sequence[Any], head: EventChainHead) -> tuple[str, int] | None:
    """The first broken link of the chain as (message, event id), or None."""
    position = {e.hash: i for i, e in enumerate(events)}
    expected_prev, expected_id = GENESIS_HASH, 1
    for i, e in enumerate(events):
        if event_hash(e.prev_hash, _content(e)) != e.hash:
            return (
                f"event {e.id} (transfer {e.transfer_id}) was edited: its content no longer matches its hash",
                e.id,
            )
        if e.prev_hash != expected_prev:
            earlier = position.get(e.prev_hash)
            if (earlier is not None and earlier > i) or (e.prev_hash == GENESIS_HASH and i > 0):
                after = events[earlier].id if earlier is not None else None
                where = f"it was written after event {after}" if after else "it was written first"
                return (
                    f"event {e.id} (transfer {e.transfer_id}) is out of order (reordered): {where}",
                    e.id,
                )
            if e.id > expected_id:
                return (
                    f"{_ids(expected_id, e.id - 1)} deleted: event {e.id} "
                    f"(transfer {e.transfer_id}) links to an event that is missing",
                    e.id,
                )
            previous = events[i - 1]
            return (
                f"event {previous.id} (transfer {previous.transfer_id}) was edited and re-hashed: "
                f"event {e.id} no longer links to it",
                previous.id,
            )
        if e.id != expected_id:
            return (
                f"event {e.id} (transfer {e.transfer_id}) has an edited id: {expected_id} was expected",
                e.id,
            )
        expected_prev, expected_id = e.hash, e.id + 1
    if head.last_event_id > expected_id - 1:
        return (
            f"{_ids(expected_id, head.last_event_id)} deleted: the chain head names event {head.last_event_id}",
            expected_id,
        )
    if head.last_hash != expected_prev:
        last = events[-1].id if events else 0
        return f"event {last} was edited or the chain head was: their hashes differ", last
    return None


def _check_transfer(t: Mapping[str, Any], events: Sequence[Any]) -> tuple[str, int | None] | None:
    """Whether a transfer row agrees with its own events (first problem, or None).

    ``events`` are rows or ``TransferEvent`` objects (anything with their attributes).
    """
    tid = t["id"]
    if not events:
        return f"transfer {tid} has no events: its events were deleted", None
    first = events[0]
    if first.action not in OPENING_ACTIONS or first.from_state is not None:
        return (
            f"event {first.id} (transfer {tid}): the transfer's opening event is missing (deleted)",
            first.id,
        )
    for prev, e in zip(events, events[1:], strict=False):
        if e.from_state != prev.to_state:
            return (
                f"event {e.id} (transfer {tid}) moves from {e.from_state} but event {prev.id} "
                f"left it in {prev.to_state}: events were deleted or reordered",
                e.id,
            )
    last = events[-1]
    if t["state"] != last.to_state or t["version"] != len(events):
        return (
            f"transfer {tid} is in state {t['state']} (version {t['version']}) but its {len(events)} "
            f"event(s) end in {last.to_state} (event {last.id}): the row was edited or its newest events deleted",
            last.id,
        )
    if first.payload != snapshot(t):
        return (
            f"transfer {tid} was edited: its row no longer matches its submission (event {first.id})",
            first.id,
        )
    step = next_step(t["steps"], t["state"])
    expected_party = party_label(step["party"], t) if step else None
    if t["next_party"] != expected_party:
        return (
            f"transfer {tid} was edited: it names {t['next_party']} as next party, its steps say {expected_party}",
            last.id,
        )
    return None


def check_transfer_events(t: Transfer, events: Sequence[TransferEvent]) -> str | None:
    """One transfer's own checks (its events' hashes, its row against them); the problem or None.

    Links between events of different transfers are checked by ``verify_log`` only.
    """
    for e in events:
        if event_hash(e.prev_hash, _content(e)) != e.hash:
            return f"event {e.id} was edited: its content no longer matches its hash"
    broken = _check_transfer(t.model_dump(), events)
    return broken[0] if broken else None


def verify_log(engine: Engine) -> LogCheck:
    """Check the whole event chain and every transfer against it."""
    # Plain rows, not ORM objects: a bureau's log holds hundreds of thousands of events.
    events_table, transfers_table = TransferEvent.__table__, Transfer.__table__  # type: ignore[attr-defined]
    with session_scope(engine, read_only=True) as session:
        events = session.execute(select(events_table).order_by(events_table.c.id)).all()
        transfers = session.execute(select(transfers_table).order_by(transfers_table.c.id)).all()
        head = session.get_one(EventChainHead, 1)
    broken: tuple[str, int | None] | None = _check_chain(events, head)
    if broken is None:
        by_transfer: dict[int, list[Any]] = {}
        for e in events:
            by_transfer.setdefault(e.transfer_id, []).append(e)
        for t in transfers:
            broken = _check_transfer(dict(t._mapping), by_transfer.get(t.id, []))
            if broken:
                break
    problem, event_id = broken if broken else (None, None)
    return LogCheck(broken is None, len(events), len(transfers), head.last_hash, problem, event_id)
