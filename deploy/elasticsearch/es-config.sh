#!/usr/bin/env bash
# One-shot init of the Elasticsearch config volume (compose service `es-config`).
#
# Runs in the official Elasticsearch image, as root, before `elasticsearch`
# starts (which waits for it with `service_completed_successfully`):
#   1. seeds the volume at $ES_PATH_CONF with the image's default config
#      directory, never overwriting a file that is already there, so the
#      keystore and any operator edit survive a re-run;
#   2. installs roles.yml from this directory (project-owned: always replaced);
#      and the hunspell dictionaries of ./hunspell/ when present;
#   3. creates the file-realm users wirestream_writer and wirestream_reader, or
#      resets their passwords and roles if they exist, so it is safe to run on
#      every `docker compose up` and changing a password in .env takes effect;
#   4. makes the certificates of HTTPS once (make-certs.sh: a CA of this
#      deployment and the node's certificate, in certs/ of the volume) and
#      copies the CA certificate to $ES_CA_DIR, the volume the application
#      containers trust it from;
#   5. hands the volume to the elasticsearch user (uid 1000, group 0).
#
# Environment: ES_PATH_CONF (the volume), ES_WRITER_PASSWORD, ES_READER_PASSWORD,
# ES_CA_DIR (where the CA certificate goes; unset: nowhere).
# ES_HOME and ES_CONFIG_OWNER exist for the unit test, which runs this script
# against a stub of elasticsearch-users.
set -euo pipefail

es_home="${ES_HOME:-/usr/share/elasticsearch}"
conf="${ES_PATH_CONF:?ES_PATH_CONF must point at the config volume}"
owner="${ES_CONFIG_OWNER:-1000:0}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${ES_WRITER_PASSWORD:?ES_WRITER_PASSWORD is not set}"
: "${ES_READER_PASSWORD:?ES_READER_PASSWORD is not set}"
# .env.example's placeholders are no passwords: refuse to start on them.
for name in ES_WRITER_PASSWORD ES_READER_PASSWORD ELASTIC_PASSWORD; do
  if [[ "${!name:-}" == change-me* ]]; then
    echo "$name still holds the example value of .env.example: set a real password in .env" >&2
    exit 1
  fi
done
export ES_PATH_CONF="$conf"

defaults="$es_home/config"
if [[ "$(cd "$defaults" && pwd -P)" == "$(cd "$conf" && pwd -P)" ]]; then
    echo "es-config: ES_PATH_CONF must not be the image's own config dir ($defaults)" >&2
    exit 1
fi

# 1. Seed without clobbering. A per-file test rather than `cp -n`, whose exit
#    status for skipped files differs between coreutils versions.
echo "es-config: seeding $conf from $defaults (existing files are kept)"
(
    cd "$defaults"
    find . -mindepth 1 -type d -print0 | while IFS= read -r -d '' dir; do
        mkdir -p "$conf/$dir"
    done
    find . \( -type f -o -type l \) -print0 | while IFS= read -r -d '' file; do
        if [[ ! -e "$conf/$file" && ! -L "$conf/$file" ]]; then
            cp -P -p "$file" "$conf/$file"
        fi
    done
)

# 2. Roles: this repository is their source of truth.
cp "$here/roles.yml" "$conf/roles.yml.tmp"
mv -f "$conf/roles.yml.tmp" "$conf/roles.yml"
echo "es-config: installed roles.yml"

# 2b. Hunspell dictionaries for the news indices' per-language analyzers, when
#     the operator laid them out with install-hunspell.sh (optional: without
#     them `wirestream index setup` uses stop words only).
if [[ -d "$here/hunspell" ]]; then
    mkdir -p "$conf/hunspell"
    cp -R "$here/hunspell/." "$conf/hunspell/"
    echo "es-config: installed hunspell dictionaries"
fi

# 3. Users. The password is passed with -p because the tool cannot read it
#    from a pipe; it is visible only inside this short-lived container.
users="$es_home/bin/elasticsearch-users"
upsert_user() {
    local user="$1" password="$2" role="$3"
    if "$users" list "$user" >/dev/null 2>&1; then
        "$users" passwd "$user" -p "$password"
        "$users" roles "$user" -a "$role"
        echo "es-config: updated user $user (role $role)"
    else
        "$users" useradd "$user" -p "$password" -r "$role"
        echo "es-config: created user $user (role $role)"
    fi
}
upsert_user wirestream_writer "$ES_WRITER_PASSWORD" wirestream_writer
upsert_user wirestream_reader "$ES_READER_PASSWORD" wirestream_reader

# 4. HTTPS: the certificates, made once and kept; the clients get the CA's
#    certificate (public) on their own volume.
bash "$here/make-certs.sh" "$conf/certs"
if [[ -n "${ES_CA_DIR:-}" ]]; then
    mkdir -p "$ES_CA_DIR"
    cp "$conf/certs/ca/ca.crt" "$ES_CA_DIR/ca.crt.tmp"
    chmod 644 "$ES_CA_DIR/ca.crt.tmp"
    mv -f "$ES_CA_DIR/ca.crt.tmp" "$ES_CA_DIR/ca.crt"
    echo "es-config: the CA certificate is in $ES_CA_DIR/ca.crt"
fi

# 5. Elasticsearch runs as uid 1000, gid 0 and must be able to write here
#    (the image's entrypoint creates elasticsearch.keystore on first start).
#    users / users_roles hold password hashes: not world-readable.
chown -R "$owner" "$conf"
chmod -R u+rwX,g+rwX,o-rwx "$conf"
echo "es-config: done"
