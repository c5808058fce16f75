#!/usr/bin/env bash
# Installs what the tests need (memcached from Debian's packages) and runs
# every check: gofmt, go vet, go test -race, then each fuzz target for a
# bounded time (FUZZTIME, default 20s per target).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v memcached >/dev/null 2>&1 || need+=(memcached)
# libmemcached is the reference the ketama selector is proven against.
dpkg -s libmemcached-dev >/dev/null 2>&1 || need+=(libmemcached-dev)
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing ${need[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

echo "== go vet"
go vet ./...

echo "== go test -race"
go test -race -count=1 -timeout 20m ./...

# Examples that bring their own dependencies (scs, ...) are modules of their
# own, so the core module stays lean; test each of them too.
for mod in $(git ls-files '*/go.mod' 2>/dev/null); do
  dir=$(dirname "$mod")
  echo "== module $dir: vet and race tests"
  (cd "$dir" && go vet ./... && go test -race -count=1 -timeout 10m ./...)
done

echo "== fuzz (${FUZZTIME:-20s} per target)"
for pkg in $(go list ./...); do
  for target in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
    echo "-- $pkg $target"
    go test -run='^$' -fuzz="^${target}\$" -fuzztime="${FUZZTIME:-20s}" "$pkg"
  done
done
echo "== all checks passed"
