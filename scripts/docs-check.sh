#!/usr/bin/env bash
# `make docs-check`: the generated documentation is committed, so generating it
# again must change nothing in docs/, templates/guides or the modules'
# README.md files, and tfplugindocs must accept docs/ as the registry reads it.
# Compares the files before and after `go generate ./...`, so it holds in a
# working tree with uncommitted changes too.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

snapshot() {
	{ find docs templates/guides -type f 2>/dev/null; ls modules/*/README.md 2>/dev/null; } |
		LC_ALL=C sort | tr '\n' '\0' | xargs -0 -r sha256sum
}

before="$(snapshot)"
go generate ./...
after="$(snapshot)"
if [ "$before" != "$after" ]; then
	echo "Generation changed these files (added, removed or rewritten):" >&2
	diff <(echo "$before") <(echo "$after") | awk '/^[<>]/ {print "  " $3}' | sort -u >&2
	echo "The committed docs were stale: commit what 'make generate' wrote." >&2
	exit 1
fi

# Modules' guide pages go under "Modules"; other guides have no subcategory.
if ! out="$(go tool tfplugindocs validate --provider-name mcpai --allowed-guide-subcategories Modules 2>&1)"; then
	grep -v '\[DEBUG\]' <<<"$out" >&2
	echo "tfplugindocs validate refused docs/: fix the templates or the schema descriptions, then 'make generate'." >&2
	exit 1
fi
echo "docs: generation leaves no diff; tfplugindocs validate passes"
