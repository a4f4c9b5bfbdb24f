"""The transfer chain (contract section 7) as a declarative table.

Each row is a step: the state a transfer reaches when the step is done, the party
that acts at it, an optional skip condition, and whether its actor must differ from
the submitter (four eyes). The first step is the submission itself; the last one is
``completed``. A province profile replaces the table under ``[transfer] chain``.

When a transfer is submitted, the rows that apply to it (skipped steps removed) are
frozen into the transfer, so a profile change never re-routes a transfer in flight.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from xueji.errors import ConfigError

# Which org a party is, and whose (the receiving or the sending side). Schools act
# through a school_registrar whose org is the school code; every other level through a
# bureau_officer whose org is the GB/T 2260 code of that level (county 430104, city
# 430100, province 430000).
PARTY_LEVELS: dict[str, str] = {
    "school": "school",
    "bureau": "county",
    "city": "city",
    "province": "province",
}
PARTIES: tuple[str, ...] = tuple(
    f"{side}_{kind}" for side in ("receiving", "sending") for kind in PARTY_LEVELS
)

# A skip condition names the level both sides share: the step is skipped when the
# sending and receiving schools lie in the same county (city, province).
SKIP_CONDITIONS: dict[str, str] = {
    "same_county": "county",
    "same_city": "city",
    "same_province": "province",
}

FIRST_STATE = "submitted"
FINAL_STATE = "completed"
REJECTED = "rejected"
WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class Step:
    """One row of the chain table."""

    state: str
    party: str
    skip_when: str | None = None
    differs_from_submitter: bool = False
    title: str = ""


DEFAULT_CHAIN: tuple[Step, ...] = (
    Step(FIRST_STATE, "receiving_school", title="转入学校登记申请"),
    Step(
        "receiving_school_approved",
        "receiving_school",
        differs_from_submitter=True,
        title="转入学校审核",
    ),
    Step("receiving_bureau_approved", "receiving_bureau", title="转入地教育行政部门核准"),
    Step("sending_school_confirmed", "sending_school", title="转出学校核办"),
    Step(
        "sending_bureau_approved",
        "sending_bureau",
        skip_when="same_county",
        title="转出地教育行政部门核准",
    ),
    Step(FINAL_STATE, "receiving_school", title="转入学校确认到校(调档)"),
)

_STEP_KEYS = {"state", "party", "skip_when", "differs_from_submitter", "title"}


def level_code(county_code: str | None, level: str) -> str | None:
    """The GB/T 2260 code of the county's county, city or province (``430104`` → ``430100``)."""
    if county_code is None:
        return None
    if level == "county":
        return county_code
    if level == "city":
        return county_code[:4] + "00"
    return county_code[:2] + "0000"


def parse_chain(rows: Sequence[Mapping[str, Any]], where: str) -> tuple[Step, ...]:
    """Validate a chain table read from a province profile; every problem named at once."""
    problems: list[str] = []
    steps: list[Step] = []
    if not isinstance(rows, Sequence) or isinstance(rows, str) or not rows:
        raise ConfigError(f"{where}: [transfer] chain must be a non-empty list of steps")
    for n, row in enumerate(rows, start=1):
        if not isinstance(row, Mapping):
            problems.append(f"step {n} is not a table like {{state = ..., party = ...}}")
            continue
        unknown = sorted(set(row) - _STEP_KEYS)
        if unknown:
            problems.append(
                f"step {n}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(_STEP_KEYS))})"
            )
        state, party, skip = row.get("state"), row.get("party"), row.get("skip_when")
        if not isinstance(state, str) or not state.isidentifier():
            problems.append(
                f"step {n}: state {state!r} must be a name like receiving_bureau_approved"
            )
        elif state in (REJECTED, WITHDRAWN):
            problems.append(f"step {n}: {state!r} is reserved for transfers that end early")
        if party not in PARTIES:
            problems.append(f"step {n}: party {party!r} is not one of {', '.join(PARTIES)}")
        if skip is not None and skip not in SKIP_CONDITIONS:
            problems.append(
                f"step {n}: skip_when {skip!r} is not one of {', '.join(SKIP_CONDITIONS)}"
            )
        four_eyes = row.get("differs_from_submitter", False)
        if not isinstance(four_eyes, bool):
            problems.append(f"step {n}: differs_from_submitter must be true or false")
        steps.append(Step(str(state), str(party), skip, bool(four_eyes), str(row.get("title", ""))))
    states = [s.state for s in steps]
    duplicates = sorted({s for s in states if states.count(s) > 1})
    if duplicates:
        problems.append(f"state(s) listed twice: {', '.join(duplicates)}")
    if steps and (steps[0].state != FIRST_STATE or steps[0].party != "receiving_school"):
        problems.append(
            f"the first step must be {FIRST_STATE!r} by receiving_school (the school that applies)"
        )
    if steps and (steps[-1].state != FINAL_STATE or steps[-1].skip_when is not None):
        problems.append(f"the last step must be {FINAL_STATE!r}, never skipped")
    if problems:
        raise ConfigError(
            f"{where}: [transfer] chain: {len(problems)} problem(s): " + "; ".join(problems)
        )
    return tuple(steps)


def applicable_steps(
    chain: Sequence[Step], from_county: str | None, to_county: str | None
) -> list[dict[str, Any]]:
    """The chain's rows that apply to one transfer, as plain dicts to freeze into it."""
    kept = []
    for step in chain:
        if step.skip_when is not None:
            level = SKIP_CONDITIONS[step.skip_when]
            a, b = level_code(from_county, level), level_code(to_county, level)
            # Unknown counties never skip: the transfer rather asks one bureau too many.
            if a is not None and a == b:
                continue
        kept.append(asdict(step))
    return kept


def party_org(party: str, codes: Mapping[str, str | None]) -> str | None:
    """The org that plays ``party`` for a transfer with the given school and county codes."""
    side, kind = party.split("_", 1)
    prefix = "to" if side == "receiving" else "from"
    if kind == "school":
        return codes[f"{prefix}_school_code"]
    return level_code(codes[f"{prefix}_county_code"], PARTY_LEVELS[kind])


def party_label(party: str, codes: Mapping[str, str | None]) -> str:
    """``receiving_bureau:430104``: a party with its org, as listings show it."""
    return f"{party}:{party_org(party, codes) or '?'}"


def next_step(steps: Sequence[Mapping[str, Any]], state: str) -> Mapping[str, Any] | None:
    """The step a transfer in ``state`` waits on, or None when it is closed."""
    names = [s["state"] for s in steps]
    if state not in names:
        return None
    i = names.index(state)
    return steps[i + 1] if i + 1 < len(steps) else None
