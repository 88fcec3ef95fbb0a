"""The command line of ``python -m tinyrel.testing.hub``: options, and serving until interrupted."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

OPEN_WARNING = (
    "Without --token the emulator is open: anyone who can reach the port can create repos, commit, "
    "read every repo and set faults."
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tinyrel.testing.hub",
        description="A local Hugging Face Hub (LFS and Xet) for tests and tooling.",
        epilog=OPEN_WARNING + " With --token T, every request needs 'Authorization: Bearer T' except anonymous "
        "reads of public repos (as on the Hub).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine)")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--data", type=Path, required=True, help="directory for blobs and state")
    parser.add_argument("--token", default=None, help="the only accepted Bearer token (default: no authentication)")
    parser.add_argument("--fail-upload", type=int, default=None, metavar="N", help="fail the N-th LFS upload")
    parser.add_argument("--drop-upload", type=int, default=None, metavar="N", help="drop the N-th LFS upload")
    parser.add_argument("--no-xet", action="store_true", help="emulate an LFS-only Hub (no Xet token routes)")
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


def run(server_class, argv: list[str] | None = None) -> int:
    """Parse ``argv``, start the emulator and serve; 2 after one ``error[...]`` line if it cannot start."""
    args = parse_args(argv)
    options = (args.host, args.port, args.data, args.token, args.verbose, not args.no_xet)
    server = start(lambda: server_class(*options), args)
    return 2 if server is None else serve(server, args)


def start(make_server, args: argparse.Namespace):
    """The server, or ``None`` after one ``error[...]`` line on stderr (a busy port, an unusable --data)."""
    try:
        return make_server()
    except OSError as exc:
        if exc.filename is None:  # bind() names no file: the address is the problem
            where, code = f"{args.host}:{args.port}", "emulator/listen"
        else:
            where, code = str(exc.filename), "emulator/data"
        print(f"error[{code}]: {where}: {(exc.strerror or str(exc)).lower()}", file=sys.stderr)
    except ValueError as exc:  # a state.json that is not the emulator's
        print(f"error[emulator/data]: {exc}", file=sys.stderr)
    return None


def serve(server, args: argparse.Namespace) -> int:
    """Run ``server`` in the foreground until interrupted, announcing it with a ``ready`` line."""
    server.hub.faults.update({"fail_upload": args.fail_upload, "drop_upload": args.drop_upload})
    if server.token is None:
        print(f"warning: {OPEN_WARNING}", file=sys.stderr, flush=True)
    print(f"hub emulator ready on {server.base_url} (data: {args.data})", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0
