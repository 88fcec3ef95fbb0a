"""``interruptible``: the transfer runs in a thread while the caller works (signs) on the main thread."""

from __future__ import annotations

import threading
import time

import pytest

from tinyrel.hub.transfer import interruptible


def test_the_caller_works_while_the_transfer_runs_and_gets_its_result():
    started = threading.Event()
    seen: list[bool] = []

    def transfer() -> str:
        started.set()
        time.sleep(0.2)
        return "uploaded"

    def meanwhile() -> None:
        seen.append(started.wait(5))  # the transfer is already running while the caller works

    assert interruptible(transfer, "upload", meanwhile) == "uploaded" and seen == [True]


def test_a_failure_of_the_callers_work_waits_for_the_transfer_then_is_raised():
    finished = threading.Event()

    def transfer() -> None:
        time.sleep(0.2)
        finished.set()

    def meanwhile() -> None:
        raise ValueError("signing failed")

    with pytest.raises(ValueError, match="signing failed"):
        interruptible(transfer, "upload", meanwhile)
    assert finished.is_set()  # nothing keeps running behind the caller's back


def test_a_failed_transfer_is_raised_in_the_caller():
    def transfer() -> None:
        raise OSError("connection reset")

    with pytest.raises(OSError, match="connection reset"):
        interruptible(transfer, "upload")
