"""Emit a release: to a local directory (metadata-only) or as one tagged commit on the Hub."""
