"""The ingest service's adapters: the only modules of the service that hold a
client (Redis, HTTP, Elasticsearch). Each satisfies a protocol of
``services.ingest.ports`` and maps its client's failures to the exception tree
(shared.errors) where it calls the client; the stage never imports one
(an import-linter contract in pyproject.toml)."""
