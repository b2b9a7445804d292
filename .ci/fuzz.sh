#!/bin/sh
# Runs every Fuzz target of the module for $FUZZTIME each.
set -eu
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-3s}
for pkg in $($GO list ./...); do
	dir=$($GO list -f '{{.Dir}}' "$pkg")
	targets=$(grep -h -o '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' || true)
	for t in $targets; do
		echo "fuzz $pkg $t ($FUZZTIME)"
		$GO test -run '^$' -fuzz "^$t\$" -fuzztime "$FUZZTIME" "$pkg"
	done
done
