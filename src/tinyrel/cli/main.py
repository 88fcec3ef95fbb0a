"""The ``tinyrel`` command: dispatch only; every command lives in ``tinyrel.cli.commands``.

Command modules are imported only when invoked (Click's documented lazy-group pattern), so
``tinyrel validate --quick`` does not pay for numpy, huggingface_hub or jinja2 at start-up.
"""

from __future__ import annotations

import importlib
import sys

import click

from tinyrel import __version__

COMMANDS: dict[str, str] = {
    "attest": "tinyrel.cli.commands.attest:attest_command",
    "card": "tinyrel.cli.commands.card:card_command",
    "check": "tinyrel.cli.commands.check:check_command",
    "completion": "tinyrel.cli.commands.completion:completion_command",
    "diff": "tinyrel.cli.commands.diff:diff_command",
    "evals": "tinyrel.cli.commands.evals:evals_command",
    "init": "tinyrel.cli.commands.init:init_command",
    "publish": "tinyrel.cli.commands.publish:publish_command",
    "pull": "tinyrel.cli.commands.pull:pull_command",
    "sign": "tinyrel.cli.commands.sign:sign_command",
    "lock": "tinyrel.cli.commands.lock:lock_command",
    "manifest": "tinyrel.cli.commands.manifest:manifest_command",
    "validate": "tinyrel.cli.commands.validate:validate_command",
    "verify": "tinyrel.cli.commands.verify:verify_command",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attr = target.partition(":")
        return getattr(importlib.import_module(module), attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tinyrel")
@click.option("--debug", is_flag=True, envvar="TINYREL_DEBUG",
              help="On an internal error, print its traceback; log what tinyrel does to stderr (TINYREL_DEBUG=1).")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Release and packaging manager for fine-tuned MLX models."""
    from tinyrel.hub.session import HubSession

    ctx.meta["tinyrel.debug"] = debug
    if debug:
        import logging

        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("debug[%(name)s]: %(message)s"))
        logger = logging.getLogger("tinyrel")
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        ctx.call_on_close(lambda: logger.removeHandler(handler))
    ctx.with_resource(HubSession())  # the command's one way to the Hub (installed on first use)


# Libraries whose warnings tinyrel's own findings replace (e.g. huggingface_hub's "not enough free
# disk space" before the one-line ``io/disk-full``): the command's output stays one line per problem.
QUIET_LIBRARIES = r"(huggingface_hub|hf_xet|httpx2?|sigstore|model_signing|inspect_ai|mlx_lm)(\.|$)"


def main() -> None:
    import warnings

    from tinyrel.atomic import raise_on_sigterm

    warnings.filterwarnings("ignore", module=QUIET_LIBRARIES)  # the CLI owns its process; the API does not
    raise_on_sigterm()  # SIGTERM runs the same clean-up as Ctrl-C: no temp file or staging dir is left
    try:
        # Fixed names, so ``python -m tinyrel`` and the console script complete and print alike.
        cli.main(prog_name="tinyrel", complete_var="_TINYREL_COMPLETE", standalone_mode=False)
    except click.exceptions.Abort:  # Ctrl-C outside a command's own handling (start-up, a prompt)
        from tinyrel.cli.common import exit_interrupted

        exit_interrupted("interrupted; nothing was changed")
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt as exc:
        from tinyrel.cli.common import exit_interrupted

        exit_interrupted(getattr(exc, "message", "interrupted; nothing half-written was left behind"))
