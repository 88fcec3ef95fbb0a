"""Signing: which files a release signature covers, their digests, and the OMS bundle over them."""
