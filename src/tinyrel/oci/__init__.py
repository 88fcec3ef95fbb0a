"""OCI registries: the one place tinyrel speaks the OCI distribution API (through the ``oras`` SDK).

``reference`` parses ``oci://HOST[:PORT]/PATH[:TAG|@sha256:…]``; ``client`` is the bounded,
streaming client (oras' ``Registry`` with its auth, wrapped where it would read a whole blob into
memory or wait forever); ``modelpack`` is the CNCF ModelPack format (media types, annotations, the
manifest and config a release becomes, and the checks on a manifest read back); ``referrers``
attaches and finds the signature through the Referrers API or the referrers tag schema.  What a
release *is* is decided in ``tinyrel.publishing``; this package only moves and checks bytes.
"""
