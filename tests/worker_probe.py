"""`reup worker` with one extra outbox handler ("probe.echo") for the multi-process tests:
it records which process delivered the row. Run as `python tests/worker_probe.py`."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from reup_app.cli import main
from reup_app.jobs.outbox_sender import outbox_handler


@outbox_handler("probe.echo")
def echo(msg):
    return {"pid": os.getpid(), "payload": msg.payload}


if __name__ == "__main__":
    sys.exit(main(["worker"]))
