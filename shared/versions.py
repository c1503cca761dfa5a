"""Pinned versions shared by the local services, docker-compose.yml and the
tests that check the two agree. Change them here only."""

ES_VERSION = "9.2.4"
