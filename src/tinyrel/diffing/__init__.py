"""``tinyrel diff``: what changed between two releases or two model directories, tensor by tensor."""
