"""Pinned versions shared by the local services, docker-compose.yml and the
tests that check the two agree. Change them here only."""

ES_VERSION = "9.2.4"
# Stanford CoreNLP (NER server); deploy/corenlp/pom.xml and
# deploy/corenlp/Dockerfile name the same version (tests/unit/test_compose.py).
CORENLP_VERSION = "4.5.10"
