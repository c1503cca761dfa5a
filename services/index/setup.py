"""`wirestream index setup`: template, aliases, mappings, current index and a
check of the security roles — idempotently, with the admin credentials (the
only place besides `index migrate` that uses them).

What one run does, in order (each step safe to repeat):

1. probes which hunspell dictionaries the cluster has (:func:`probe_analysis`);
2. finds the live generation: the indices behind the write alias; on a
   cluster set up before the write alias existed, the indices behind the read
   alias are adopted;
3. installs the generation's template (``<prefix>-v<G>``) and creates the
   entity directory ``<prefix>-entities`` (services.index.adapters.entity_directory)
   if it is missing;
4. (re)attaches both aliases to every live index, with the current filter;
5. puts the current mapping on every live index: additive changes (new
   fields) apply at once; anything else is reported as needing
   ``wirestream index migrate``, as is an index whose analysis settings
   differ from the template's (e.g. dictionaries installed after it was made);
6. creates the current month's index, so the aliases exist before the first
   document;
7. checks, by asking Elasticsearch as each user (run-as), that the writer and
   the reader have exactly the privileges the pipeline relies on. Users and
   roles live in the file realm (deploy/elasticsearch/roles.yml, installed by
   the services script locally and by the ``es-config`` service in compose),
   because the minimal distribution cannot store native-realm users.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from elasticsearch import ApiError, BadRequestError, Elasticsearch, NotFoundError

from services.index.adapters.entity_directory import create_directory
from services.index.mapping import (
    DEFAULT_REPLICAS,
    LANGUAGES,
    AnalysisPlan,
    hidden_filter,
    index_settings,
    index_template,
    mappings,
    replica_settings,
)
from services.index.names import IndexNames, month_of

__all__ = [
    "SetupReport",
    "check_roles",
    "live_indices",
    "probe_analysis",
    "put_template",
    "run_setup",
    "setup_index",
]


@dataclass
class SetupReport:
    generation: int
    lines: list[str] = field(default_factory=list)
    # Live indices that need `wirestream index migrate`, with the reason.
    needs_migration: dict[str, str] = field(default_factory=dict)
    security_problems: list[str] = field(default_factory=list)


def probe_analysis(es: Elasticsearch) -> AnalysisPlan:
    """Which hunspell dictionaries this cluster can load (one ``_analyze``
    call per language; a missing dictionary is a 400)."""
    found = set()
    for lang in LANGUAGES:
        if not lang.hunspell:
            continue
        try:
            es.indices.analyze(
                tokenizer="standard",
                filter=[{"type": "hunspell", "locale": lang.hunspell}],
                text="test",
            )
        except BadRequestError:
            continue
        found.add(lang.code)
    return AnalysisPlan(hunspell=frozenset(found))


def live_indices(es: Elasticsearch, names: IndexNames) -> tuple[int | None, list[str]]:
    """The live generation and its indices: those behind the write alias, or
    (a cluster from before the write alias) behind the read alias."""
    for alias in (names.write_alias, names.read_alias):
        try:
            found = es.indices.get_alias(name=alias)
        except NotFoundError:
            continue
        parsed = {index: p for index in found if (p := names.parse(index))}
        if parsed:
            generation = max(p[0] for p in parsed.values())
            return generation, sorted(i for i, p in parsed.items() if p[0] == generation)
    return None, []


def put_template(
    es: Elasticsearch, names: IndexNames, generation: int, plan: AnalysisPlan,
    *, replicas: str = DEFAULT_REPLICAS,
) -> None:
    body = index_template(
        names.read_alias, names.write_alias, names.pattern(generation), generation, plan,
        replicas=replicas,
    )
    es.indices.put_index_template(
        name=names.template(generation),
        index_patterns=body["index_patterns"],
        priority=body["priority"],
        template=body["template"],
        meta=body["_meta"],
    )


def _flatten(value: Any, prefix: str = "") -> dict[str, str]:
    if isinstance(value, Mapping):
        out: dict[str, str] = {}
        for key, sub in value.items():
            out.update(_flatten(sub, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list | tuple):
        return {prefix: ",".join(str(v) for v in value)}
    return {prefix: str(value).lower()}


def _analysis_differs(es: Elasticsearch, index: str, plan: AnalysisPlan) -> str | None:
    current = es.indices.get_settings(index=index, name="index.analysis.*")
    settings = current.body.get(index, {}).get("settings", {})
    have = _flatten(settings.get("index", {}).get("analysis", {}))
    want = _flatten(index_settings(plan)["analysis"])
    changed = sorted(k for k in set(have) | set(want) if have.get(k) != want.get(k))
    if not changed:
        return None
    return f"analysis differs from the template ({', '.join(changed[:4])}...)"


def run_setup(
    es: Elasticsearch,
    prefix: str,
    *,
    now: datetime | None = None,
    plan: AnalysisPlan | None = None,
    users: Mapping[str, str] | None = None,
    replicas: str = DEFAULT_REPLICAS,
) -> SetupReport:
    """Everything `wirestream index setup` does (see the module docstring).
    ``users`` maps ``writer``/``reader`` to user names for the role check;
    ``replicas`` is :attr:`shared.settings.ElasticsearchSettings.replicas`."""
    names = IndexNames(prefix)
    plan = plan or probe_analysis(es)
    generation, indices = live_indices(es, names)
    report = SetupReport(generation=generation or 1)
    described = ", ".join(f"{k}={v}" for k, v in plan.describe().items())
    report.lines.append(f"analysis: {described}")
    put_template(es, names, report.generation, plan, replicas=replicas)
    report.lines.append(f"template {names.template(report.generation)} installed")

    if create_directory(es, names):
        report.lines.append(f"created the entity directory {names.entities}")

    month = month_of(now or datetime.now(UTC))
    current = names.index(report.generation, month)
    if not es.indices.exists(index=current):
        es.options(ignore_status=400).indices.create(index=current)  # 400: made meanwhile
        report.lines.append(f"created index {current}")
    if current not in indices:
        indices.append(current)

    actions: list[dict[str, Any]] = []
    for index in indices:
        actions.append(
            {"add": {"index": index, "alias": names.read_alias, "filter": hidden_filter()}}
        )
        actions.append({"add": {"index": index, "alias": names.write_alias}})
    es.indices.update_aliases(actions=actions)
    report.lines.append(
        f"aliases {names.read_alias} (read, filtered) and {names.write_alias} on "
        f"{len(indices)} index(es) of generation {report.generation}"
    )

    body = mappings()
    for index in indices:
        try:
            es.indices.put_mapping(
                index=index,
                dynamic=body["dynamic"],
                meta=body["_meta"],
                properties=body["properties"],
            )
        except BadRequestError as exc:
            report.needs_migration[index] = f"mapping: {exc.message}: {_cause(exc)}"
            continue
        differs = _analysis_differs(es, index, plan)
        if differs:
            report.needs_migration[index] = differs
    report.lines += _apply_replicas(es, indices, replicas)
    for index in indices:
        blocked = es.indices.get_settings(index=index, name="index.blocks.write")
        if blocked.body.get(index, {}).get("settings"):
            report.security_problems.append(
                f"{index} is write-blocked: an interrupted migration? run "
                "`wirestream index migrate` again"
            )
    report.lines.append(
        f"mapping v{body['_meta']['mapping_version']} on "
        f"{len(indices) - len(report.needs_migration)} index(es)"
    )
    for index, why in report.needs_migration.items():
        report.lines.append(f"needs `wirestream index migrate`: {index}: {why}")
    if users:
        report.security_problems += check_roles(es, names, report.generation, users)
        if not report.security_problems:
            report.lines.append("roles: writer and reader have exactly the expected privileges")
    report.lines += [f"PROBLEM: {p}" for p in report.security_problems]
    return report


def _apply_replicas(es: Elasticsearch, indices: list[str], replicas: str) -> list[str]:
    """Give every live index the replica setting of the settings (a dynamic
    setting: no reindex); lines for those that changed."""
    want = replica_settings(replicas)
    lines: list[str] = []
    current = es.indices.get_settings(index=",".join(indices), flat_settings=True).body
    for index in indices:
        have = current[index]["settings"]
        auto = have.get("index.auto_expand_replicas", "false")
        if "auto_expand_replicas" in want:
            same = auto == want["auto_expand_replicas"]
        else:
            same = auto == "false" and have.get("index.number_of_replicas") == str(
                want["number_of_replicas"])
        if not same:
            es.indices.put_settings(index=index, settings={f"index.{k}": v
                                                           for k, v in want.items()})
            lines.append(f"replicas of {index}: {replicas}")
    return lines


def _cause(exc: ApiError) -> str:
    info = exc.info if isinstance(exc.info, dict) else {}
    error = info.get("error", {}) if isinstance(info.get("error"), dict) else {}
    return str(error.get("reason", ""))[:300]


# What each role must (True) and must not (False) be able to do; checked with
# the has-privileges API as the user (run-as), so no password is needed.
_WRITER_INDEX = {
    "create_index": True,
    "indices:data/write/bulk[s]": True,
    "indices:data/write/index": True,
    # the update API would answer with the stored source: a read
    "indices:data/write/update": False,
    "indices:data/write/delete": False,
    "indices:data/read/search": False,
    "indices:data/read/get": False,
    "delete_index": False,
    "indices:admin/aliases": False,
    "indices:admin/settings/update": False,
}
_WRITER_CLUSTER = {"monitor": True, "manage": False, "cluster:admin/settings/update": False}
_READER_ALIAS = {
    "indices:data/read/search": True,
    "indices:data/read/get": False,
    "indices:data/write/index": False,
    "delete_index": False,
}
_READER_CONCRETE = {"indices:data/read/search": False, "indices:data/read/get": False}
# the terms lookup of an entity search gets a directory document by id
_READER_DIRECTORY = {"indices:data/read/get": True, "indices:data/write/index": False}
_WRITER_DIRECTORY = {"indices:data/write/index": True, "indices:data/write/bulk[s]": True}


def check_roles(
    es: Elasticsearch, names: IndexNames, generation: int, users: Mapping[str, str]
) -> list[str]:
    """Problems with the writer's and reader's privileges (empty: all as
    expected). Needs a superuser (run-as)."""
    problems: list[str] = []
    concrete = names.index(generation, "2000.01")

    def check(user: str, index_rules: dict[str, dict[str, bool]], cluster: dict[str, bool]) -> None:
        try:
            as_user = es.options(headers={"es-security-runas-user": user})
            answer = as_user.security.has_privileges(
                cluster=list(cluster),
                index=[{"names": [n], "privileges": list(r)} for n, r in index_rules.items()],
            )
        except ApiError as exc:
            problems.append(f"cannot check the privileges of {user}: {exc.message}")
            return
        for privilege, expected in cluster.items():
            if answer["cluster"].get(privilege) != expected:
                problems.append(f"{user}: cluster privilege {privilege} should be {expected}")
        for index, rules in index_rules.items():
            for privilege, expected in rules.items():
                if answer["index"].get(index, {}).get(privilege) != expected:
                    problems.append(f"{user}: {privilege} on {index} should be {expected}")

    if "writer" in users:
        check(users["writer"], {concrete: _WRITER_INDEX, names.entities: _WRITER_DIRECTORY},
              _WRITER_CLUSTER)
    if "reader" in users:
        check(
            users["reader"],
            {names.read_alias: _READER_ALIAS, concrete: _READER_CONCRETE,
             names.entities: _READER_DIRECTORY},
            {"monitor": False, "manage": False},
        )
    return problems


def setup_index(es: Elasticsearch, prefix: str, *, now: datetime | None = None) -> list[str]:
    """:func:`run_setup` without the role check; returns what it did."""
    return run_setup(es, prefix, now=now).lines
