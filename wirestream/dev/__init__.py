"""Developers' tools: the local services (Redis, Elasticsearch, APy,
CoreNLP without Docker), the demo and the pipeline harness the fault tests
drive."""
