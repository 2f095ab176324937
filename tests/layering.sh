#!/usr/bin/env bash
# layering.sh: each source folder may include headers only from the folders
# below it in the data flow (STYLE.md): core <- model <- {ingest, storage} <- collect (scrape reuses expfmt)
# <- {query, remote, cli} <- rules <- api <- cmd, the wiring that alone sees every folder.
# A call across the wrong arrow fails `make test` here instead of in review.
set -u
src=${SRC:-$(dirname "$0")/..}/src
declare -A allowed=(
    [core]="core"
    [model]="core model"
    [ingest]="core model ingest"
    [storage]="core model storage"
    [query]="core model storage query"
    [rules]="core model storage query rules"
    [api]="core model ingest storage query collect rules api"
    [collect]="core model ingest collect"
    [remote]="core model ingest remote"
    [cli]="core model ingest cli"
    [cmd]="core model ingest storage query collect rules api remote cli cmd"
)
bad=0
for dir in "${!allowed[@]}"; do
    [ -d "$src/$dir" ] || continue
    while IFS=: read -r file _ inc; do
        target=$(sed -E 's/.*#include "([a-z_]+)\/.*/\1/' <<<"$inc")
        [ -d "$src/$target" ] || continue # generated headers (proto) are not a layer
        ok=0
        for a in ${allowed[$dir]}; do [ "$a" = "$target" ] && ok=1; done
        if [ $ok -eq 0 ]; then
            echo "layering: $file includes $target/ (allowed from $dir/: ${allowed[$dir]})"
            bad=1
        fi
    done < <(grep -Hn '#include "[a-z_]*/' "$src/$dir"/*.[ch] 2>/dev/null)
done
[ $bad -eq 0 ] && echo "layering: ok"
exit $bad
