#!/usr/bin/env bash
# Tests/package/consumer.sh — `make test-package`: EmbeddingKit as a new user adopts it (issue 17).
#
#  0. Checks that the documents cite only what a clone has: no ../shared, no seed file names, and
#     every `path/...` in backquotes exists.
#  1. Clones this repository into a temporary folder, copies the working tree over the clone (so
#     uncommitted changes are what is tested), commits, and makes an annotated tag VERSION there.
#  2. Writes a new package whose Package.swift is the README's manifest snippet (the one that starts
#     with `// swift-tools-version`), its `.package(url: ..., from: ...)` pointed at the clone's
#     file:// URL: EmbeddingKit is resolved by version, as from a real tag.
#  3. Puts every ```swift snippet of README.md and of the DocC articles into that package's target
#     (the rules, and the markers for snippets that need context, are in Tests/package/README.md).
#  4. Resolves: Package.resolved must pin EmbeddingKit alone, at VERSION (no swift-argument-parser,
#     no other package: the library carries no tool-only dependency). Then builds.
# EK_KEEP=1 keeps the temporary folder.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SWIFT=${SWIFT:-swift}
VERSION=${VERSION:-$(sed -n 's/^#define EK_VERSION_\(MAJOR\|MINOR\|PATCH\)[[:space:]]\{1,\}\([0-9]\{1,\}\).*/\2/p' \
    "$ROOT/CKernels/include/embeddingkit.h" | paste -sd.)}
DOCS=("$ROOT/README.md" "$ROOT"/Sources/EmbeddingKit/Documentation.docc/*.md)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ek-package.XXXXXX")
if [ "${EK_KEEP:-}" = 1 ]; then echo "test-package: keeping $TMP"; else trap 'rm -rf "$TMP"' EXIT; fi
fail() { echo "test-package: $*" >&2; exit 1; }
trap 'echo "test-package: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

# ---- 0. every reference in the documents resolves in a clone --------------------------------------
# No workspace-only paths (../shared, the seed files' names); every `path/...` in backquotes under a
# top-level folder of the repository exists (up to a `<placeholder>` or `*`).
for doc in "${DOCS[@]}"; do
    rel=${doc#"$ROOT"/}
    if grep -nE '\.\./shared|[0-9]{3}_[0-9a-f]{16}\.txt' "$doc"; then
        fail "$rel cites files that are not in a clone (above); cite the public address and our Swift files"
    fi
    { grep -oE '`(Examples|Sources|Tests|CKernels|docs|Benchmarks|examples|mk|SystemLibraries)/[^` ]*`' "$doc" || true; } |
        tr -d '`' | sort -u | while read -r path; do
            base=${path%%[<*]*}
            [ -e "$ROOT/$base" ] || [ -e "$ROOT/${base%/}" ] || fail "$rel cites $path, which does not exist"
        done
done

# ---- 1. a clone of this repository, tagged ---------------------------------------------------------
CLONE="$TMP/EmbeddingKit"
if git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
    git clone -q "$ROOT" "$CLONE"
    git -C "$CLONE" rm -rq --ignore-unmatch .
    (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard) |
        while IFS= read -r -d '' f; do [ -e "$ROOT/$f" ] && printf '%s\0' "$f"; done |
        tar -C "$ROOT" --null -T - -cf - | tar -C "$CLONE" -xf -
else    # a source tree without .git (an unpacked archive): a repository of its own
    git init -q "$CLONE"
    tar -C "$ROOT" --exclude='./.build*' --exclude='./Examples/.build' --exclude=./build --exclude=./.venv \
        --exclude='./Package.resolved' -cf - . | tar -C "$CLONE" -xf -
fi
git -C "$CLONE" add -A
git -C "$CLONE" -c user.name=test-package -c user.email=test-package@localhost \
    commit -q --allow-empty -m "the working tree under test"
git -C "$CLONE" -c user.name=test-package -c user.email=test-package@localhost \
    tag -f -a "$VERSION" -m "EmbeddingKit $VERSION (test-package)" >/dev/null
echo "test-package: clone $CLONE tagged $VERSION (annotated)"

# ---- 2. the consumer's Package.swift: README's manifest snippet ----------------------------------
APP="$TMP/consumer"
mkdir -p "$APP"
awk '/^```swift[[:space:]]*$/ { inb = 1; n = 0; next }
     inb && /^```/ { inb = 0; if (found) exit; next }
     inb { if (n++ == 0 && $0 ~ /^\/\/ swift-tools-version/) found = 1; if (found) print }' \
    "$ROOT/README.md" > "$APP/Package.swift"
[ -s "$APP/Package.swift" ] || fail "README.md has no \`\`\`swift block starting with // swift-tools-version"
grep -Eq '\.package\(url: "[^"]+", from: "[0-9.]+"\)' "$APP/Package.swift" ||
    fail "README's manifest does not depend on EmbeddingKit with .package(url: ..., from: ...)"
# every other manifest snippet (GettingStarted.md's) must say the same
for doc in "${DOCS[@]}"; do
    awk '/^```swift[[:space:]]*$/ { inb = 1; n = 0; next }
         inb && /^```/ { inb = 0; if (found) exit; next }
         inb { if (n++ == 0 && $0 ~ /^\/\/ swift-tools-version/) found = 1; if (found) print }' "$doc" > "$TMP/manifest"
    [ ! -s "$TMP/manifest" ] || cmp -s "$TMP/manifest" "$APP/Package.swift" ||
        fail "the Package.swift snippet of ${doc#"$ROOT"/} differs from README.md's"
done
sed -i -E "s|\.package\(url: \"[^\"]+\", from:|.package(url: \"file://$CLONE\", from:|" "$APP/Package.swift"
TARGET=$(sed -n -E 's/.*\.executableTarget\(name: "([^"]+)".*/\1/p' "$APP/Package.swift" | head -1)
[ -n "$TARGET" ] || fail "README's manifest declares no .executableTarget(name: ...)"

# ---- 3. every other ```swift snippet, one function per program -----------------------------------
SRC="$APP/Sources/$TARGET"
mkdir -p "$SRC"
for doc in "${DOCS[@]}"; do
    base=$(basename "$doc" .md | tr -c 'A-Za-z0-9_\n' '_')
    awk -v doc="${doc#"$ROOT"/}" -v base="$base" -v out="$SRC" -f "$ROOT/Tests/package/snippets.awk" "$doc"
done
programs=$(find "$SRC" -name 'Snippet_*.swift' | wc -l)
snippets=$(cat "$SRC"/Snippet_*.swift | grep -c '^// snippet at ' || true)
printf '// The snippets are compiled, not run.\nprint("EmbeddingKit snippets: %s programs")\n' "$programs" > "$SRC/main.swift"
echo "test-package: $snippets snippets of ${#DOCS[@]} documents in $programs programs, in $SRC"

# ---- 4. what was resolved, then the build -------------------------------------------------------
echo "test-package: $SWIFT package resolve --package-path $APP"
"$SWIFT" package resolve --package-path "$APP" --disable-dependency-cache ||
    fail "EmbeddingKit $VERSION cannot be resolved from the tag"
RESOLVED="$APP/Package.resolved"
[ -f "$RESOLVED" ] || fail "no Package.resolved"
pins=$(sed -n -E 's/.*"identity" : "([^"]+)".*/\1/p' "$RESOLVED" | paste -sd' ')
[ "$pins" = embeddingkit ] || fail "Package.resolved pins '$pins'; want only embeddingkit (no swift-argument-parser, no tool dependency)"
grep -q "\"version\" : \"$VERSION\"" "$RESOLVED" || fail "EmbeddingKit is not pinned at version $VERSION:
$(cat "$RESOLVED")"
echo "test-package: Package.resolved pins embeddingkit $VERSION alone"
echo "test-package: $SWIFT build --package-path $APP"
"$SWIFT" build --package-path "$APP" --disable-dependency-cache -Xswiftc -suppress-warnings ||
    fail "the consumer package (README's Package.swift + the documentation's snippets) does not build (EK_KEEP=1 keeps $TMP)"
echo "test-package: OK: EmbeddingKit $VERSION by version, no other package; $snippets snippets compiled"
