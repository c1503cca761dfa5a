"""Redis users per role, rendered from ``deploy/redis/users.acl.in`` (the
rules, read there) with each role's password. `wirestream services up` writes
the result as the local Redis's ACL file; the compose redis service renders
the same template with ``deploy/redis/render-users.sh``."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import Path

__all__ = ["REPLICATION_ROLES", "REPLICATION_TEMPLATE", "ROLES", "TEMPLATE",
           "password_variable", "render", "role_settings"]

TEMPLATE = Path(__file__).resolve().parents[2] / "deploy" / "redis" / "users.acl.in"
# The users of replication (a replica's link to its primary, the Sentinels),
# added to the ACL file only where Redis is replicated (wirestream.dev.redis_ha)
REPLICATION_TEMPLATE = TEMPLATE.with_name("replication.acl.in")
# The users besides ``default`` (the administrator's, REDIS_PASSWORD)
ROLES = ("ingest", "enrich", "index", "scheduler", "exporter", "operator")
REPLICATION_ROLES = ("replica", "sentinel")
_MARKER = re.compile("#@([A-Z]+)@")


def password_variable(role: str) -> str:
    """The variable holding a role's password: REDIS_INGEST_PASSWORD ...;
    REDIS_PASSWORD for ``default``."""
    return "REDIS_PASSWORD" if role == "default" else f"REDIS_{role.upper()}_PASSWORD"


def render(passwords: Mapping[str, str], template: Path = TEMPLATE) -> str:
    """The ACL file: the template's user lines with ``@ROLE@`` replaced by
    the SHA-256 of the role's password (``passwords``: role -> password,
    ``default`` included). A role without a password is an error, never a
    user without one."""
    lines = []
    for line in template.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        for role in (m.lower() for m in _MARKER.findall(line)):
            if not passwords.get(role):
                raise ValueError(f"no password for the Redis user {role!r}")
            line = line.replace(f"@{role.upper()}@", hashlib.sha256(
                passwords[role].encode("utf-8")).hexdigest())
        lines.append(line)
    return "\n".join(lines) + "\n"


def role_settings(role: str, credentials: Mapping[str, str]) -> dict[str, str]:
    """The environment that makes a process connect as ``role``, from the
    local credentials (var/local.env)."""
    return {"WIRESTREAM_REDIS__USERNAME": role,
            "WIRESTREAM_REDIS__PASSWORD": credentials[password_variable(role)]}
