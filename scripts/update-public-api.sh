#!/usr/bin/env bash
# Refreshes the public API baselines of the projects that ship in the NuGet package after a
# deliberate public API change (or a merge that brought one). The build fails with RS0016 (public
# API not listed) or RS0017 (listed API gone) whenever the code and these files disagree, so an
# accidental change cannot slip through; this script is how a deliberate one is recorded.
#
#   scripts/update-public-api.sh          new public API -> PublicAPI.Unshipped.txt (the analyzer's
#                                         own code fix, run by `dotnet format analyzers`); removed
#                                         API -> its Unshipped line dropped, or "*REMOVED*<api>"
#                                         added for API in Shipped; then a build that must pass
#   scripts/update-public-api.sh --ship   the same, then Unshipped folded into Shipped (at a
#                                         release: Shipped is what published packages had)
#
# Review the diff of the PublicAPI.*.txt files before committing: every line is a promise.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

projects=(managed/Nnk/Nnk.csproj interop/Nnk.Interop/Nnk.Interop.csproj)
ship=false
case "${1:-}" in
  "") ;;
  --ship) ship=true ;;
  *) echo "usage: $0 [--ship]" >&2; exit 2 ;;
esac

# Appends a line to a file that may not end with a newline (the code fix writes none).
append_line() {
  if [ -s "$1" ] && [ -n "$(tail -c1 "$1")" ]; then echo >> "$1"; fi
  printf '%s\n' "$2" >> "$1"
}

log=$(mktemp)
trap 'rm -f "$log"' EXIT
for project in "${projects[@]}"; do
  dir=$(dirname "$project")
  echo "update-public-api: $project: adding new public API"
  dotnet format analyzers "$project" --diagnostics RS0016 --severity warn --verbosity quiet

  # RS0017 has no code fix; read the symbols from a full rebuild (an up-to-date build would
  # skip the compiler and report nothing).
  dotnet build "$project" -c Release --no-incremental --nologo > "$log" 2>&1 || true
  sed -nE "s/.*PublicAPI\.(Shipped|Unshipped)\.txt\([0-9]+,[0-9]+\): (error|warning) RS0017: Symbol '(.*)' is part of the declared API.*/\1\t\3/p" "$log" |
    sort -u |
    while IFS=$'\t' read -r file symbol; do
      echo "update-public-api: $project: removed: $symbol"
      if [ "$file" = Unshipped ]; then
        grep -vxF -- "$symbol" "$dir/PublicAPI.Unshipped.txt" > "$log.tmp" || true
        mv "$log.tmp" "$dir/PublicAPI.Unshipped.txt"
      else
        append_line "$dir/PublicAPI.Unshipped.txt" "*REMOVED*$symbol"
      fi
    done
done

if $ship; then
  for project in "${projects[@]}"; do
    dir=$(dirname "$project")
    shipped="$dir/PublicAPI.Shipped.txt" unshipped="$dir/PublicAPI.Unshipped.txt"
    # "*REMOVED*X" in Unshipped takes X out of Shipped; every other line goes into it.
    {
      grep -vxF -f <(sed -n 's/^\*REMOVED\*//p' "$unshipped"; echo '#nullable enable') "$shipped" || true
      grep -v -e '^#nullable' -e '^\*REMOVED\*' -e '^$' "$unshipped" || true
    } | LC_ALL=C sort -u > "$log"
    { echo '#nullable enable'; cat "$log"; } > "$shipped"
    echo '#nullable enable' > "$unshipped"
  done
fi

for project in "${projects[@]}"; do
  dotnet build "$project" -c Release --nologo --verbosity quiet
done
git status --short -- '*PublicAPI.*.txt'
