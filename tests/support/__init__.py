"""What the test modules share: running the CLI (``helpers``), real models written by mlx-lm
(``fixtures``), real keys and certificates (``signing_keys``), the Hub emulator (``hub``), hostile
servers (``hostile_hub``), a real OCI registry (``oci_registry``) and workspace edits (``workspace``).

An ordinary package beside the tests: pytest puts ``tests/`` on the path for its test modules, so
``from support.helpers import run`` needs no path set by hand."""
