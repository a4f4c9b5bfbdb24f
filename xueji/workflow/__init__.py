"""The transfer workflow (转学审批): chain table, guards, service, event log, queries.

Library entry points (the CLI in ``xueji.cli.transfer`` is a thin layer over them):

- ``submit`` / ``approve`` / ``reject`` / ``withdraw``: the only ways a transfer's state
  changes; each is authorised, checked and written in one transaction;
- ``verify_log``: checks the hash-chained event log;
- ``overdue_transfers`` / ``completed_transfers``: frames for the audit's
  TRANSFER_OVERDUE and UNAPPROVED_TRANSFER rules;
- ``import_registry``: refreshes the registry view (schools, students) from input frames;
- ``seed_transfers``: a test and benchmark helper that writes transfers in a given state.
"""

from xueji.workflow.accounts import Identity, add_user, authenticate, create_first_admin, list_users
from xueji.workflow.chain import DEFAULT_CHAIN, Step
from xueji.workflow.events import LogCheck, verify_log
from xueji.workflow.guards import REASONS, Application
from xueji.workflow.queries import (
    completed_transfers,
    list_transfers,
    open_transfers,
    overdue_transfers,
)
from xueji.workflow.registry import ImportResult, import_registry
from xueji.workflow.seed import seed_transfers
from xueji.workflow.service import approve, reject, submit, withdraw
from xueji.workflow.settings import TransferSettings, load_transfer_settings

__all__ = [
    "DEFAULT_CHAIN",
    "REASONS",
    "Application",
    "Identity",
    "ImportResult",
    "LogCheck",
    "Step",
    "TransferSettings",
    "add_user",
    "approve",
    "authenticate",
    "completed_transfers",
    "create_first_admin",
    "import_registry",
    "list_transfers",
    "list_users",
    "load_transfer_settings",
    "open_transfers",
    "overdue_transfers",
    "reject",
    "seed_transfers",
    "submit",
    "verify_log",
    "withdraw",
]
