#!/usr/bin/env bash
# Lays out hunspell dictionaries the way Elasticsearch loads them:
# DEST/<locale>/<locale>.aff + .dic, for every locale of
# hunspell-locales.txt found in SRC. For docker compose: run it once on a
# Debian/Ubuntu host before `docker compose up`, e.g.
#
#   sudo apt-get install hunspell-en-us hunspell-de-de hunspell-es hunspell-fr \
#       hunspell-it hunspell-pt-pt hunspell-nl hunspell-ru hunspell-sv \
#       hunspell-no hunspell-da hunspell-uk
#   deploy/elasticsearch/install-hunspell.sh
#
# and the `es-config` service copies deploy/elasticsearch/hunspell/ into the
# Elasticsearch config volume. The dictionaries carry their own licences
# (GPL, LGPL, MPL): they are not kept in this repository.
#
# Usage: install-hunspell.sh [SRC=/usr/share/hunspell] [DEST=<this dir>/hunspell]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="${1:-/usr/share/hunspell}"
dest="${2:-$here/hunspell}"

while read -r locale file package; do
    [[ -z "${locale:-}" || "$locale" == \#* ]] && continue
    if [[ -f "$src/$file.aff" && -f "$src/$file.dic" ]]; then
        mkdir -p "$dest/$locale"
        cp -L "$src/$file.aff" "$dest/$locale/$locale.aff"
        cp -L "$src/$file.dic" "$dest/$locale/$locale.dic"
        echo "install-hunspell: $locale"
    else
        echo "install-hunspell: no $locale in $src (Debian package $package)" >&2
    fi
done <"$here/hunspell-locales.txt"
