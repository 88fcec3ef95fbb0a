"""The emulator's routes: the Hub's URL shapes, each mapped to the handler method that answers it.

Named groups (repo, rev, path, oid, kind) are checked by ``_hub_names.route_args`` before a
handler runs, so no client-supplied name reaches the store unchecked.
"""

from __future__ import annotations

import re

# Groups are checked by name before a handler runs (``_hub_names.route_args``): repo, rev, path, oid.
REPO, REV, OID = r"(?P<repo>[^/]+(?:/[^/]+)?)", r"(?P<rev>[^/]+)", r"(?P<oid>[^/]+)"
ROUTES: dict[str, list[tuple[re.Pattern, str]]] = {
    method: [(re.compile(p), name) for p, name in routes]
    for method, routes in {
        "GET": [
            (r"/api/whoami-v2", "whoami"),
            (r"/api/models/" + REPO + r"/refs", "refs"),
            (r"/api/models/" + REPO + r"/xet-(?P<kind>write|read)-token/" + REV, "xet_token"),
            (r"/api/models/" + REPO + r"/revision/" + REV, "repo_info"),
            (r"/api/models/" + REPO + r"/tree/" + REV + r"(?:/(?P<path>.+))?", "tree"),
            (r"/api/models/" + REPO, "repo_info"),
            (r"/" + REPO + r"/resolve/" + REV + r"/(?P<path>.+)", "resolve_file"),
            (r"/_emulator/stats", "emulator_stats"),
        ],
        "HEAD": [(r"/" + REPO + r"/resolve/" + REV + r"/(?P<path>.+)", "resolve_file")],
        "POST": [
            (r"/api/repos/create", "create_repo"),
            (r"/api/validate-yaml", "validate_yaml"),
            (r"/api/models/" + REPO + r"/preupload/" + REV, "preupload"),
            (r"/api/models/" + REPO + r"/commit/" + REV, "commit"),
            (r"/api/models/" + REPO + r"/tag/" + REV, "create_tag"),
            (r"/api/models/" + REPO + r"/paths-info/" + REV, "paths_info"),
            (r"/" + REPO + r"\.git/info/lfs/objects/batch", "lfs_batch"),
            (r"/_lfs/" + REPO + r"/" + OID + r"/verify", "lfs_verify"),
            (r"/_emulator/faults", "emulator_faults"),
        ],
        "PUT": [
            (r"/_lfs/" + REPO + r"/" + OID, "lfs_upload"),
            (r"/api/models/" + REPO + r"/settings", "repo_settings"),
        ],
        "DELETE": [(r"/api/models/" + REPO + r"/tag/" + REV, "delete_tag")],
    }.items()
}
