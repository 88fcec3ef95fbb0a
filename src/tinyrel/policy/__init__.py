"""Policy: the release spec, the workspace that holds it, and the blockers checked against it."""
