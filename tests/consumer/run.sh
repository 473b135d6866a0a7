#!/usr/bin/env bash
# Consumer test: does the Nnk package work in an app that knows nothing of this repository?
#
# 1. packs Nnk (managed/Nnk, with Nnk.Interop and libnnk.so inside) into artifacts/packages;
# 2. copies tests/consumer/Consumer to a temporary folder outside the tree and restores it with a
#    NuGet.config adding that folder to the machine's sources, into an empty packages folder of
#    its own, so no cached Nnk can stand in for the one just packed; checks the restored Nnk came
#    from artifacts/packages;
# 3. builds and runs it (portable build: libnnk.so from runtimes/linux-x64/native/), then publishes
#    and runs it for linux-x64 (libnnk.so next to the app): each run trains networks on the native
#    and managed backends and checks accuracy, their agreement and the versions;
# 4. where the machine lets root hide OpenBLAS in a private mount namespace, runs it once more
#    without OpenBLAS and checks that the user sees an exception naming the package to install.
#
# A missing native asset, a wrong RID folder or a missing dependency fails here. Exits non-zero
# on any failure. Run from anywhere; scripts/test.sh runs it after the xUnit suite.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
start=$SECONDS

version=$(tr -d '[:space:]' < VERSION)
feed=$repo/artifacts/packages
rm -f "$feed"/Nnk.*nupkg
echo "consumer: packing Nnk $version into $feed"
dotnet pack managed/Nnk/Nnk.csproj -c Release -o "$feed" --nologo --verbosity quiet
nupkg=$feed/Nnk.$version.nupkg
[ -f "$nupkg" ] || { echo "consumer: FAIL $nupkg was not produced" >&2; exit 1; }

work=$(mktemp -d /tmp/nnk-consumer.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp -r tests/consumer/Consumer "$work/app"
cat > "$work/app/NuGet.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="nnk-local" value="$feed" />
  </packageSources>
</configuration>
XML
# NNK_NATIVE_PATH would let the app find the repository's build instead of the package's asset.
unset NNK_NATIVE_PATH
cd "$work/app"

echo "consumer: restoring into $work/packages (empty: nothing cached)"
dotnet restore --packages "$work/packages" -p:NnkPackageVersion="$version" --verbosity quiet
source=$(sed -n 's/.*"source": *"\(.*\)".*/\1/p' "$work/packages/nnk/$version/.nupkg.metadata")
if [ "${source%/}" != "${feed%/}" ]; then
  echo "consumer: FAIL Nnk $version was restored from '$source', not from $feed" >&2
  exit 1
fi
echo "consumer: ok   Nnk $version restored from $source"

echo "consumer: portable build (libnnk.so from runtimes/linux-x64/native/)"
dotnet build -c Release --no-restore --nologo --verbosity quiet -p:NnkPackageVersion="$version" -o "$work/bin"
[ -f "$work/bin/runtimes/linux-x64/native/libnnk.so" ] || { echo "consumer: FAIL no runtimes/linux-x64/native/libnnk.so in the build output" >&2; exit 1; }
dotnet "$work/bin/Consumer.dll" "$version"

echo "consumer: linux-x64 publish (libnnk.so next to the app)"
dotnet publish -c Release -r linux-x64 --self-contained false --packages "$work/packages" --nologo --verbosity quiet \
  -p:NnkPackageVersion="$version" -o "$work/publish"
[ -f "$work/publish/libnnk.so" ] || { echo "consumer: FAIL no libnnk.so next to the published app" >&2; exit 1; }
"$work/publish/Consumer" "$version"

# Without a BLAS the first native call must fail with an exception that says what to install.
# Hiding OpenBLAS needs a private mount namespace (root, unshare); elsewhere this check is skipped.
blas_dirs=()
for dir in /usr/lib/x86_64-linux-gnu/openblas-openmp /usr/lib/x86_64-linux-gnu/openblas-pthread /usr/lib/x86_64-linux-gnu/openblas-serial; do
  [ -d "$dir" ] && blas_dirs+=("$dir")
done
if [ ${#blas_dirs[@]} -gt 0 ] && unshare -m --propagation private true 2>/dev/null; then
  echo "consumer: run with OpenBLAS hidden (${blas_dirs[*]})"
  set +e
  # The app dies of an unhandled exception (SIGABRT): no core file, and the subshell keeps bash's
  # "Aborted" notice in the log.
  (
    ulimit -c 0
    unshare -m --propagation private sh -c '
      for dir in "$@"; do mount -t tmpfs none "$dir" || exit 90; done
      exec env -u NNK_BLAS "'"$work"'/publish/Consumer" "'"$version"'"' sh "${blas_dirs[@]}"
    exit $?
  ) > "$work/noblas.log" 2>&1
  code=$?
  set -e
  if [ $code -eq 0 ] || [ $code -eq 90 ] || ! grep -q "System.InvalidOperationException: BLAS openblas unavailable" "$work/noblas.log" \
     || ! grep -q "apt-get install libopenblas0-openmp" "$work/noblas.log"; then
    echo "consumer: FAIL without OpenBLAS expected an InvalidOperationException naming libopenblas0-openmp; got exit code $code:" >&2
    cat "$work/noblas.log" >&2
    exit 1
  fi
  echo "consumer: ok   without OpenBLAS: $(grep -o 'System.InvalidOperationException: .*' "$work/noblas.log" | head -c 300)"
else
  echo "consumer: skipped the no-BLAS run (cannot hide OpenBLAS here: needs root and unshare)"
fi

echo "consumer: passed in $((SECONDS - start)) s"
