#!/bin/sh
# Renders users.acl.in into Redis's ACL file on standard output: each @ROLE@
# becomes the SHA-256 of that role's password, read from
# <secrets>/redis_<role>_password (<secrets>/redis_password for `default`);
# comment and blank lines are dropped. Refuses (exit 1, nothing written) a
# missing or empty password, or one still an example value (change-me...).
#   render-users.sh TEMPLATE [SECRETS_DIR]
set -eu
template=$1
secrets=${2:-/run/secrets}
out=$(grep -v '^[[:space:]]*#' "$template" | grep -v '^[[:space:]]*$')
# the users are the template's: one @ROLE@ marker each
for role in $(printf '%s\n' "$out" | grep -o '#@[A-Z]*@' | tr -d '#@' | tr 'A-Z' 'a-z'); do
    if [ "$role" = default ]; then
        file="$secrets/redis_password"
    else
        file="$secrets/redis_${role}_password"
    fi
    if [ ! -s "$file" ]; then
        echo "render-users: no password for the Redis user $role ($file)" >&2
        exit 1
    fi
    password=$(cat "$file")
    case $password in
        change-me*)
            echo "render-users: the password of the Redis user $role is the example value;" \
                 "set it in .env" >&2
            exit 1
            ;;
    esac
    hash=$(printf '%s' "$password" | sha256sum | cut -d' ' -f1)
    marker=$(echo "$role" | tr 'a-z' 'A-Z')
    out=$(printf '%s\n' "$out" | sed "s/@${marker}@/${hash}/")
done
printf '%s\n' "$out"
