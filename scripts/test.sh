#!/usr/bin/env bash
# Installs what the tests need (memcached, libmemcached, and the PHP and
# Python memcached clients from Debian's packages, staticcheck with go
# install) and runs every check: gofmt, go vet, staticcheck, go test -race
# (the core module and each example module), then every fuzz target for a
# bounded time.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v memcached >/dev/null 2>&1 || need+=(memcached)
# libmemcached is the reference the ketama selector is proven against.
dpkg -s libmemcached-dev >/dev/null 2>&1 || need+=(libmemcached-dev)
# The clients of other languages the interop tests share values with
# (memcache/interop_clients_test.go).
for pkg in php-cli php-memcached php-msgpack python3-pylibmc python3-pymemcache python3-msgpack; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing ${need[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

# staticcheck at one pinned version, so that a new release's checks arrive
# in a commit of their own rather than failing CI one morning. A fresh
# machine has only Go: install it then.
staticcheck_version=v0.8.2 # staticcheck 2026.2.2
gobin=$(go env GOBIN)
[ -n "$gobin" ] || gobin="$(go env GOPATH | cut -d: -f1)/bin"
staticcheck="$gobin/staticcheck"
if ! { [ -x "$staticcheck" ] && go version -m "$staticcheck" 2>/dev/null |
  grep -Eq "^[[:space:]]+mod[[:space:]]+honnef.co/go/tools[[:space:]]+${staticcheck_version}[[:space:]]"; }; then
  echo "== installing staticcheck ${staticcheck_version}"
  go install "honnef.co/go/tools/cmd/staticcheck@${staticcheck_version}"
fi

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

echo "== go vet"
go vet ./...

echo "== staticcheck"
"$staticcheck" ./...

# Modules of their own beside the core one (examples that bring their own
# dependencies, the golangci plugin); testdata modules are analyzer inputs,
# with deliberate findings, not code to check.
submodules=$(git ls-files '*/go.mod' 2>/dev/null | grep -v '/testdata/' || true)

# cachepropvet, built from this tree, over the core module and each
# sub-module: no cached property may leak outside its testdata.
echo "== cachepropvet"
cachepropvet="$(mktemp -d)/cachepropvet"
go build -o "$cachepropvet" ./cmd/cachepropvet
go vet -vettool="$cachepropvet" ./...
for mod in $submodules; do
  (cd "$(dirname "$mod")" && go vet -vettool="$cachepropvet" ./...)
done

echo "== go test -race"
go test -race -count=1 -timeout 20m ./...

# Examples that bring their own dependencies (scs, ...) are modules of their
# own, so the core module stays lean; test each of them too.
for mod in $submodules; do
  dir=$(dirname "$mod")
  echo "== module $dir: vet, staticcheck and race tests"
  (cd "$dir" && go vet ./... && "$staticcheck" ./... && go test -race -count=1 -timeout 10m ./...)
done

# Decoders of bytes from the cache (and of server replies) get FUZZTIME (default 30s) each; the
# other targets (selection, bookkeeping, key building) FUZZTIME_OTHER
# (default 10s), so the whole run stays well under 20 minutes on 2 cores.
echo "== fuzz (${FUZZTIME:-30s} per decoder, ${FUZZTIME_OTHER:-10s} per other target)"
for pkg in $(go list ./...); do
  for target in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
    case "$target" in
      *Unmarshal*|*Decode*|*StoreGet*|*Chunk*|*Index*|*Reply*) t="${FUZZTIME:-30s}" ;;
      *) t="${FUZZTIME_OTHER:-10s}" ;;
    esac
    echo "-- $pkg $target ($t)"
    out=$(mktemp)
    if ! go test -run='^$' -fuzz="^${target}\$" -fuzztime="$t" -fuzzminimizetime=10s "$pkg" 2>&1 | tee "$out"; then
      # go's fuzzing engine can end a run that found nothing with "context
      # deadline exceeded" when -fuzztime expires while a worker is busy
      # with a slow input or minimizing a new one. Only a failing input
      # (which it writes to testdata/fuzz) is a finding.
      if grep -q 'context deadline exceeded' "$out" && ! grep -q 'Failing input written' "$out"; then
        echo "-- $target: fuzzing stopped at its deadline while a worker was busy; no failing input"
      else
        rm -f "$out"; exit 1
      fi
    fi
    rm -f "$out"
  done
done
echo "== all checks passed"
