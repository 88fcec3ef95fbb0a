"""Which call an upload body belongs to (``tinyrel.hub.upload_owners``): learnt from the LFS batch
answer the call asked for — whatever shape a hostile server gives that answer, learning never
raises (huggingface_hub reports a malformed answer itself)."""

from __future__ import annotations

import pytest

from tinyrel.hub.upload_owners import UploadOwners


@pytest.mark.parametrize("answer", [
    b'{"objects":[{"oid":"' + b"a" * 64 + b'","size":1,"actions":[1]}]}',
    b'{"objects":[{"oid":"' + b"a" * 64 + b'","size":1,"error":{"code":422,"message":"no"},"actions":"x"}]}',
    b'{"objects":[{"actions":7}]}',
    b'{"objects":[{"actions":{"upload":{"href":7,"header":{"1":["x"],"2":"::not a url"}}}}]}',
    b'[1, 2]',
    b'{"objects": "none"}',
    b"not json",
    b"[" * 100_000,
])  # fmt: skip
def test_learning_from_any_answer_never_raises(answer):
    UploadOwners().learn(object(), answer)


def test_parts_and_the_endpoint_huggingface_hub_rewrites_to_are_the_calls(monkeypatch):
    """Multipart part URLs (the header's numbered entries) are the call's; so is the URL
    huggingface_hub really sends a single-part body to when a custom ``HF_ENDPOINT`` (a proxy)
    replaces the Hub's own host in the href."""
    monkeypatch.setenv("HF_ENDPOINT", "http://proxy.internal:8080")
    call, owners = object(), UploadOwners()
    owners.learn(call, b'''{"objects": [
        {"actions": {"upload": {"href": "https://huggingface.co/org/name.git/lfs/aaa"}}},
        {"actions": {"upload": {"href": "https://hub/complete", "header": {"chunk_size": "5",
                     "00001": "https://s3.example/part?n=1", "00002": "https://s3.example/other?n=2"}}}}]}''')
    assert owners.owner("http://proxy.internal:8080/org/name.git/lfs/aaa") is call
    assert owners.owner("https://huggingface.co/org/name.git/lfs/aaa?x=1") is call
    assert owners.owner("https://s3.example/other?n=2&sig=re-encoded") is call
    assert owners.owner("https://s3.example/elsewhere") is None
    owners.forget(call)
    assert owners.owner("https://s3.example/other") is None
