"""The command line of ``python -m tinyrel.testing.hub``: options, and serving until interrupted."""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tinyrel.testing.hub",
        description="A local Hugging Face Hub (LFS and Xet) for tests and tooling.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--data", type=Path, required=True, help="directory for blobs and state")
    parser.add_argument("--token", default=None, help="the only accepted Bearer token (default: no auth)")
    parser.add_argument("--fail-upload", type=int, default=None, metavar="N", help="fail the N-th LFS upload")
    parser.add_argument("--drop-upload", type=int, default=None, metavar="N", help="drop the N-th LFS upload")
    parser.add_argument("--no-xet", action="store_true", help="emulate an LFS-only Hub (no Xet token routes)")
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


def serve(server, args: argparse.Namespace) -> int:
    """Run ``server`` in the foreground until interrupted, announcing it with a ``ready`` line."""
    server.hub.faults.update({"fail_upload": args.fail_upload, "drop_upload": args.drop_upload})
    print(f"hub emulator ready on {server.base_url} (data: {args.data})", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0
