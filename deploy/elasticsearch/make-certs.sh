#!/usr/bin/env bash
# The certificates of Elasticsearch's HTTPS, made once: a CA of the
# deployment's own and a certificate for the node, valid for the names the
# clients use (elasticsearch: the compose service; es02 and es03: the other
# nodes of deploy/compose/es-cluster.yml, which use it for the transport too;
# localhost and 127.0.0.1: the healthcheck and the local services), signed
# by that CA. Kept when they
# are already there, so a re-run changes nothing and the clients' trust holds.
#
#   make-certs.sh DIR
#
# Writes DIR/ca/ca.crt, DIR/ca/ca.key, DIR/elasticsearch/elasticsearch.crt and
# DIR/elasticsearch/elasticsearch.key (PEM) with elasticsearch-certutil of
# $ES_HOME (default /usr/share/elasticsearch: the official image); the keys
# are readable by their owner only.
set -euo pipefail

dir="${1:?usage: make-certs.sh DIR}"
es_home="${ES_HOME:-/usr/share/elasticsearch}"
certutil="$es_home/bin/elasticsearch-certutil"

if [[ -s "$dir/ca/ca.crt" && -s "$dir/elasticsearch/elasticsearch.crt" \
      && -s "$dir/elasticsearch/elasticsearch.key" ]]; then
    echo "make-certs: the certificates in $dir are kept"
    exit 0
fi
mkdir -p "$dir"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
if [[ ! -s "$dir/ca/ca.crt" || ! -s "$dir/ca/ca.key" ]]; then
    "$certutil" ca --silent --pem --days 3650 --out "$work/ca.zip"
    unzip -q -o "$work/ca.zip" -d "$dir"
    echo "make-certs: made a CA in $dir/ca"
fi
"$certutil" cert --silent --pem --days 825 --name elasticsearch \
    --ca-cert "$dir/ca/ca.crt" --ca-key "$dir/ca/ca.key" \
    --dns elasticsearch,es02,es03,localhost --ip 127.0.0.1 --out "$work/node.zip"
unzip -q -o "$work/node.zip" -d "$dir"
chmod 600 "$dir/ca/ca.key" "$dir/elasticsearch/elasticsearch.key"
echo "make-certs: made the certificate of elasticsearch (elasticsearch, es02, es03, localhost, 127.0.0.1)"
