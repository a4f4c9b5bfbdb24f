"""The exceptions register: findings an authorised user has confirmed are not violations.

A registrar of the finding's school, or a bureau officer of its county, dismisses a
finding with a reason (``xueji finding dismiss``). Later runs mark it ``dismissed`` and
reports leave it out of counts, for as long as the data behind it is unchanged: the
dismissal keeps a hash of the finding's evidence, and when a run's evidence hashes
differently the dismissal lapses and the finding is ``new`` again.

The evidence hash ignores the parts of the evidence that move every night without the
facts changing (the attendance window's dates, row numbers in the input files), so a
twin pair confirmed in November is not re-opened by December's window.

Also here: the authorisation of ``--show-ids`` and the record of every unmasked export.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
from loguru import logger
from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from xueji.db import session_scope
from xueji.db.models_findings import FindingDismissal, UnmaskedExport
from xueji.errors import InputError, NotAuthorised, NotFound, WorkflowRefused
from xueji.reports.masking import mask_findings
from xueji.reports.runs import scan_violations

# Evidence keys (at any depth) that change from run to run while the facts stay the same.
VOLATILE_EVIDENCE_KEYS = frozenset(
    {"as_of", "window_start", "window_end", "window_school_days", "registry_row", "row", "_row"}
)
DISMISSING_ROLES = ("school_registrar", "bureau_officer")
# Who may put a dismissed finding back: the same people, and inspectors and admins,
# who oversee the register.
RESTORING_ROLES = ("school_registrar", "bureau_officer", "inspector", "admin")
SHOW_IDS_ROLES = ("inspector", "admin")
MIN_ID_PREFIX = 6
MAX_REASON = 2000


@dataclass(frozen=True)
class Actor:
    """Who acts: the fields of the workflow's authenticated identity that matter here."""

    name: str
    role: str
    org: str | None

    def describe(self) -> str:
        """``wang (school_registrar, 4301040001)``."""
        return f"{self.name} ({self.role}{', ' + self.org if self.org else ''})"


def actor_of(identity: Any) -> Actor:
    """An ``Actor`` from anything with name, role and org (the workflow's ``Identity``)."""
    return Actor(identity.name, identity.role, identity.org)


def utc_now() -> datetime:
    """Now, timezone-aware (SQLModel refuses naive datetimes)."""
    return datetime.now(UTC)


def _without_volatile(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_volatile(v) for k, v in value.items() if k not in VOLATILE_EVIDENCE_KEYS}
    if isinstance(value, list):
        return [_without_volatile(v) for v in value]
    return value


def evidence_hash(evidence: str | None) -> str:
    """SHA-256 of the evidence's facts: canonical JSON, volatile keys left out.

    Evidence that is not JSON is hashed as it is.
    """
    if evidence is None:
        text = "null"
    else:
        try:
            parsed = json.loads(evidence)
        except (json.JSONDecodeError, TypeError):
            text = evidence
        else:
            text = json.dumps(_without_volatile(parsed), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _live() -> Any:
    return col(FindingDismissal.revoked_at).is_(None) & col(FindingDismissal.lapsed_at).is_(None)


def live_dismissals(engine: Engine) -> pl.DataFrame:
    """Every live dismissal: id, violation_id, evidence_hash, who, when, why."""
    schema: dict[str, pl.DataType] = {
        "dismissal_id": pl.Int64(),
        "violation_id": pl.String(),
        "evidence_hash": pl.String(),
        "dismissed_by": pl.String(),
        "dismissed_at": pl.Datetime("us", "UTC"),
        "dismissal_reason": pl.String(),
    }
    with session_scope(engine, read_only=True) as session:
        rows = list(session.scalars(select(FindingDismissal).where(_live())))
    # SQLite hands datetimes back naive; they were stored in UTC.
    records = [
        (r.id, r.violation_id, r.evidence_hash, r.dismissed_by, _as_utc(r.dismissed_at), r.reason) for r in rows
    ]
    return pl.DataFrame(records, schema=schema, orient="row")


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def dismissal_details(engine: Engine) -> pl.DataFrame:
    """Live dismissals as report columns: violation_id, dismissed_by, dismissed_at, dismissal_reason."""
    return live_dismissals(engine).select("violation_id", "dismissed_by", "dismissed_at", "dismissal_reason")


def apply_dismissals(
    engine: Engine,
    violations: pl.DataFrame,
    *,
    run_name: str | None = None,
    record_lapses: bool = True,
) -> pl.DataFrame:
    """Mark findings held by a live dismissal ``dismissed``; lapse the rest.

    A finding whose violation_id has a live dismissal is ``dismissed`` when its evidence
    hash equals the one taken at dismissal. When it differs the data behind the finding
    changed: the finding is ``new`` again and (with ``record_lapses``, as the audit
    runner does) the dismissal is marked lapsed for good. A finding already marked
    ``dismissed`` whose dismissal was revoked since is ``persisting``: it is known, not new.
    Columns and row order are unchanged.
    """
    live = live_dismissals(engine)
    change = pl.col("change")
    if live.is_empty():
        return violations.with_columns(
            pl.when(change == "dismissed").then(pl.lit("persisting")).otherwise(change).alias("change")
        )
    # Only the few findings that have a dismissal are hashed (in Python: there is no
    # stable SHA-256 expression in Polars); the join keeps that set small.
    matched = violations.select("violation_id", "evidence").join(
        live.select("dismissal_id", "violation_id", "evidence_hash"), on="violation_id", how="inner"
    )
    now_hash = [evidence_hash(e) for e in matched.get_column("evidence").to_list()]
    matched = matched.with_columns(pl.Series("now_hash", now_hash, dtype=pl.String))
    held = matched.filter(pl.col("now_hash") == pl.col("evidence_hash"))
    lapsed = matched.filter(pl.col("now_hash") != pl.col("evidence_hash"))
    held_ids = held.get_column("violation_id").implode()
    lapsed_ids = lapsed.get_column("violation_id").implode()
    vid = pl.col("violation_id")
    out = violations.with_columns(
        pl.when(vid.is_in(held_ids))
        .then(pl.lit("dismissed"))
        .when(vid.is_in(lapsed_ids))
        .then(pl.lit("new"))
        .when(change == "dismissed")
        .then(pl.lit("persisting"))
        .otherwise(change)
        .alias("change")
    )
    if record_lapses and lapsed.height:
        ids = lapsed.get_column("dismissal_id").to_list()
        with session_scope(engine) as session:
            session.execute(
                update(FindingDismissal)
                .where(col(FindingDismissal.id).in_(ids))
                .values(lapsed_at=utc_now(), lapsed_run=run_name)
            )
        logger.info("{} dismissal(s) lapsed: the data behind the finding changed", len(ids))
    return out


def find_finding(run_dir: Path, violation_id: str) -> dict[str, Any]:
    """The finding (full, unmasked) whose id is ``violation_id`` or starts with it."""
    wanted = violation_id.strip()
    if len(wanted) < MIN_ID_PREFIX:
        raise InputError(f"violation id {wanted!r} is too short: give at least {MIN_ID_PREFIX} characters")
    lf = scan_violations(run_dir)
    exact = lf.filter(pl.col("violation_id") == wanted).collect()
    if exact.height == 0:
        exact = lf.filter(pl.col("violation_id").str.starts_with(wanted)).head(6).collect()
    if exact.height == 0:
        raise NotFound(f"no finding {wanted!r} in run {run_dir.name} (list them with `xueji finding list`)")
    if exact.height > 1:
        ids = ", ".join(sorted(exact.get_column("violation_id").to_list())[:5])
        raise InputError(f"violation id {wanted!r} matches several findings in run {run_dir.name}: {ids}; give more characters")
    return exact.row(0, named=True)


def subject_text(finding: dict[str, Any]) -> str:
    """Who or what a finding is about, readable, with ID numbers masked."""
    masked = mask_findings(pl.DataFrame([finding])).collect().row(0, named=True)
    parts = [
        masked.get("county_code"),
        masked.get("school_code"),
        f"{masked['grade']}年级" if masked.get("grade") is not None else None,
        masked.get("class_name"),
        masked.get("student_no"),
        masked.get("name"),
    ]
    return " ".join(str(p) for p in parts if p) or str(finding.get("violation_id"))


def may_dismiss(actor: Actor, finding: dict[str, Any]) -> bool:
    """Whether ``actor`` may dismiss ``finding``: the registrar of its school, or an officer of its county."""
    if actor.role == "school_registrar":
        return bool(actor.org) and actor.org == finding.get("school_code")
    if actor.role == "bureau_officer":
        return bool(actor.org) and actor.org == finding.get("county_code")
    return False


def _who_may(finding: dict[str, Any]) -> str:
    options = []
    if finding.get("school_code"):
        options.append(f"the registrar of school {finding['school_code']}")
    if finding.get("county_code"):
        options.append(f"a bureau officer of county {finding['county_code']}")
    return " or ".join(options) or "nobody (the finding names no school or county)"


def _clean_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise InputError("a reason is required: say why this is not a violation (--reason TEXT)")
    if len(text) > MAX_REASON:
        raise InputError(f"the reason is {len(text)} characters long; keep it under {MAX_REASON}")
    return text


def get_live(engine: Engine, violation_id: str) -> FindingDismissal | None:
    """The live dismissal of ``violation_id``, if any."""
    with session_scope(engine, read_only=True) as session:
        return session.scalars(
            select(FindingDismissal).where(col(FindingDismissal.violation_id) == violation_id, _live())
        ).first()


def dismiss(engine: Engine, actor: Actor, run_dir: Path, violation_id: str, reason: str) -> FindingDismissal:
    """Record that a finding of ``run_dir`` is not a violation; returns the register row.

    Refused (exit 3) when it is already dismissed; NotAuthorised (exit 4) unless the
    actor is the registrar of the finding's school or an officer of its county.
    """
    text = _clean_reason(reason)
    finding = find_finding(run_dir, violation_id)
    if not may_dismiss(actor, finding):
        raise NotAuthorised(f"{actor.describe()} may not dismiss {finding['violation_id']}: only {_who_may(finding)} may")
    existing = get_live(engine, finding["violation_id"])
    if existing is not None:
        raise WorkflowRefused(
            f"{finding['violation_id']} is already dismissed by {existing.dismissed_by} "
            f"on {_local(existing.dismissed_at)} ({existing.reason}); restore it first to change the reason"
        )
    row = FindingDismissal(
        violation_id=finding["violation_id"],
        rule=finding["rule"],
        subject=subject_text(finding),
        county_code=finding.get("county_code"),
        school_code=finding.get("school_code"),
        evidence_hash=evidence_hash(finding.get("evidence")),
        reason=text,
        run_name=run_dir.name,
        dismissed_by=actor.name,
        dismissed_by_role=actor.role,
        dismissed_by_org=actor.org,
        dismissed_at=utc_now(),
    )
    try:
        with session_scope(engine) as session:
            session.add(row)
            session.flush()
    except IntegrityError as exc:
        # Someone else dismissed it between our check and our insert.
        raise WorkflowRefused(f"{finding['violation_id']} was dismissed by someone else just now; see `xueji finding list --dismissed`") from exc
    logger.info("finding {} ({}) dismissed by {}", row.violation_id, row.rule, actor.describe())
    return row


def restore(engine: Engine, actor: Actor, violation_id: str, reason: str | None = None) -> FindingDismissal:
    """Revoke the live dismissal of a finding, so it counts again from the next report on."""
    wanted = violation_id.strip()
    if len(wanted) < MIN_ID_PREFIX:
        raise InputError(f"violation id {wanted!r} is too short: give at least {MIN_ID_PREFIX} characters")
    with session_scope(engine, read_only=True) as session:
        candidates = list(
            session.scalars(
                select(FindingDismissal).where(col(FindingDismissal.violation_id).startswith(wanted), _live())
            )
        )
    exact = [c for c in candidates if c.violation_id == wanted] or candidates
    if not exact:
        raise NotFound(f"{wanted} has no live dismissal (see `xueji finding list --dismissed`)")
    if len(exact) > 1:
        ids = ", ".join(sorted(c.violation_id for c in exact)[:5])
        raise InputError(f"{wanted!r} matches several dismissed findings: {ids}; give more characters")
    row = exact[0]
    finding = {"school_code": row.school_code, "county_code": row.county_code}
    if actor.role not in ("inspector", "admin") and not may_dismiss(actor, finding):
        raise NotAuthorised(
            f"{actor.describe()} may not restore {row.violation_id}: only {_who_may(finding)}, an inspector or an admin may"
        )
    now = utc_now()
    with session_scope(engine) as session:
        changed = session.execute(
            update(FindingDismissal)
            .where(col(FindingDismissal.id) == row.id, _live())
            .values(revoked_at=now, revoked_by=actor.name, revoke_reason=(reason or "").strip() or None)
        )
        if changed.rowcount != 1:  # type: ignore[attr-defined]
            raise WorkflowRefused(f"{row.violation_id} was restored or lapsed by someone else just now")
    row.revoked_at, row.revoked_by, row.revoke_reason = now, actor.name, (reason or "").strip() or None
    logger.info("dismissal of {} revoked by {}", row.violation_id, actor.describe())
    return row


def _local(moment: datetime) -> str:
    return pl.select(pl.lit(_as_utc(moment)).dt.convert_time_zone("Asia/Shanghai").dt.strftime("%Y-%m-%d %H:%M")).item()


def list_dismissals(
    engine: Engine,
    *,
    include_ended: bool = False,
    counties: tuple[str, ...] = (),
    schools: tuple[str, ...] = (),
    rules: tuple[str, ...] = (),
) -> pl.DataFrame:
    """The register, newest first: live dismissals, or every one with ``include_ended``."""
    query = select(FindingDismissal).order_by(col(FindingDismissal.dismissed_at).desc(), col(FindingDismissal.id).desc())
    if not include_ended:
        query = query.where(_live())
    if counties:
        query = query.where(col(FindingDismissal.county_code).in_(counties))
    if schools:
        query = query.where(col(FindingDismissal.school_code).in_(schools))
    if rules:
        query = query.where(col(FindingDismissal.rule).in_(rules))
    with session_scope(engine, read_only=True) as session:
        rows = list(session.scalars(query))
    records = []
    for r in rows:
        ended = r.revoked_at or r.lapsed_at
        records.append({
            "violation_id": r.violation_id,
            "rule": r.rule,
            "subject": r.subject,
            "state": "revoked" if r.revoked_at else "lapsed" if r.lapsed_at else "dismissed",
            "dismissed_by": r.dismissed_by,
            "dismissed_at": _local(r.dismissed_at),
            "reason": r.reason,
            "ended": _local(ended) if ended else None,
            "ended_by": r.revoked_by or ((f"run {r.lapsed_run}" if r.lapsed_run else "audit") if r.lapsed_at else None),
        })
    schema = {k: pl.String for k in ("violation_id", "rule", "subject", "state", "dismissed_by", "dismissed_at", "reason", "ended", "ended_by")}
    return pl.DataFrame(records, schema=schema)


def require_show_ids(actor: Actor) -> None:
    """Only inspectors and admins may see full ID numbers."""
    if actor.role not in SHOW_IDS_ROLES:
        raise NotAuthorised(f"{actor.describe()} may not show full ID numbers: only an inspector or an admin may (drop --show-ids)")


def record_unmasked_export(
    engine: Engine,
    actor: Actor,
    *,
    run_dir: Path,
    filters: dict[str, Any],
    fmt: str,
    path: str,
    findings: int,
) -> UnmaskedExport:
    """Record who exported which findings of which run with full ID numbers, when and where."""
    row = UnmaskedExport(
        exported_by=actor.name,
        role=actor.role,
        org=actor.org,
        exported_at=utc_now(),
        run_name=run_dir.name,
        run_dir=str(run_dir.resolve()),
        filters=filters,
        format=fmt,
        path=path,
        findings=findings,
    )
    with session_scope(engine) as session:
        session.add(row)
        session.flush()
    logger.info("unmasked {} export of run {} by {} recorded", fmt, run_dir.name, actor.describe())
    return row


def unmasked_exports(engine: Engine) -> list[UnmaskedExport]:
    """Every recorded unmasked export, oldest first."""
    with session_scope(engine, read_only=True) as session:
        return list(session.scalars(select(UnmaskedExport).order_by(col(UnmaskedExport.id))))


__all__ = [
    "VOLATILE_EVIDENCE_KEYS",
    "Actor",
    "actor_of",
    "apply_dismissals",
    "dismiss",
    "dismissal_details",
    "evidence_hash",
    "find_finding",
    "list_dismissals",
    "live_dismissals",
    "record_unmasked_export",
    "require_show_ids",
    "restore",
    "unmasked_exports",
]
