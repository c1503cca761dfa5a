"""`wirestream index setup`: the template and the first index, idempotently.

Runs with the admin credentials (the only place they are used). Users and
roles live in the file realm (deploy/elasticsearch/roles.yml), installed by
the services script locally and by the ``es-config`` service in compose.
"""

from __future__ import annotations

from datetime import UTC, datetime

from elasticsearch import Elasticsearch

from services.index.mapping import MAPPING_VERSION, index_template

__all__ = ["setup_index", "template_name"]


def template_name(prefix: str) -> str:
    return f"{prefix}-v{MAPPING_VERSION}"


def setup_index(es: Elasticsearch, prefix: str, *, now: datetime | None = None) -> list[str]:
    """Install the template and make sure the current month's index exists
    (so the read alias exists before the first document). Returns what it did."""
    done: list[str] = []
    body = index_template(prefix)
    es.indices.put_index_template(
        name=template_name(prefix),
        index_patterns=body["index_patterns"],
        priority=body["priority"],
        template=body["template"],
        meta=body["_meta"],
    )
    done.append(f"template {template_name(prefix)}")
    month = (now or datetime.now(UTC)).strftime("%Y.%m")
    name = f"{prefix}-v{MAPPING_VERSION}-{month}"
    if not es.indices.exists(index=name):
        es.indices.create(index=name)
        done.append(f"created index {name}")
    else:
        done.append(f"index {name} exists")
    return done
