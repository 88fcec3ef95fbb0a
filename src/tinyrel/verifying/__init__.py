"""Verifying: check an OMS signature, then that the files (local or on the Hub) are the signed ones."""
