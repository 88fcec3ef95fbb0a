"""tinyrel's Python API — the front door.  Every CLI command parses its options, calls one of these
functions and renders what it returns; nothing is checked or decided twice.

They return data — ``Report`` (findings plus ``data``), ``GateResult``, ``PublishResult`` — and raise
``TinyrelError`` (with a stable ``code``, the same the CLI prints) when they cannot run at all, or
``Refused`` (a ``TinyrelError`` carrying the ``report``) when they ran and the answer is no.  Each
call runs in its own ``HubSession``: huggingface_hub is left as the caller had it.  Nothing here
prints.  Heavy modules (numpy, the Hub client, Jinja2) load only when a function needs them.

The functions live by who calls them: ``authoring`` (validate → lock → gate → attest),
``releasing`` (sign, publish) and ``consuming`` (verify, pull, diff).
"""

from tinyrel.api.authoring import (
    attest,
    check,
    check_lock,
    evals,
    init,
    init_example,
    lock_base,
    lock_release,
    lock_source,
    render_card,
    validate,
    write_manifest,
)
from tinyrel.api.consuming import PulledPath, diff, pull, verify
from tinyrel.api.releasing import publish, sign

__all__ = [
    "PulledPath",
    "attest",
    "check",
    "check_lock",
    "diff",
    "evals",
    "init",
    "init_example",
    "lock_base",
    "lock_release",
    "lock_source",
    "publish",
    "pull",
    "render_card",
    "sign",
    "validate",
    "verify",
    "write_manifest",
]
