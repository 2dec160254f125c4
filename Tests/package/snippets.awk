# Tests/package/snippets.awk — writes the ```swift snippets of one Markdown document as Swift files
# for Tests/package/consumer.sh: one file (one function, so programs cannot clash) per program.
# Rules (Tests/package/README.md): a ```swift block is a program of its own; `<!-- snippet: continues -->`
# before it appends it to the previous program; `<!-- snippet context:` ... `-->` before it supplies
# declarations compiled just before it, not shown on the page. A block whose first line is
# `// swift-tools-version` is a manifest (consumer.sh uses README's) and is skipped here.
# Variables: doc (the path printed), base (file-name stem), out (the folder).

function flush(   f, i) {
    if (nlines == 0) return
    f = sprintf("%s/Snippet_%s_%d.swift", out, base, program)
    print "// " doc ": snippets compiled as one program (Tests/package/README.md)" > f
    print "import EmbeddingKit" > f
    for (i = 1; i <= nimports; i++) if (imports[i] != "import EmbeddingKit") print imports[i] > f
    printf "\nfunc snippet_%s_%d() async throws {\n", base, program > f
    for (i = 1; i <= nlines; i++) print lines[i] > f
    print "}" > f
    close(f)
    nlines = 0; nimports = 0
}

function add(line) { lines[++nlines] = line }

BEGIN { program = 0; nlines = 0; nimports = 0; fence = ""; incontext = 0; ncontext = 0; continues = 0 }

# inside a context comment: its lines are Swift
incontext {
    if ($0 ~ /^-->[[:space:]]*$/) { incontext = 0; next }
    context[++ncontext] = $0; next
}

# inside a fenced block
fence != "" {
    if ($0 ~ /^```[[:space:]]*$/) {
        fence = ""
        next
    }
    if (fence != "swift") next
    if (first && $0 ~ /^\/\/ swift-tools-version/) { fence = "manifest"; next }
    if (first) {
        if (!continues) { flush(); program++ }
        add(sprintf("// snippet at %s:%d", doc, start))
        if (ncontext > 0) {
            add("// context (an HTML comment above the snippet):")
            for (i = 1; i <= ncontext; i++) add(context[i])
        }
        ncontext = 0; continues = 0; first = 0
    }
    if ($0 ~ /^import [A-Za-z_]+[[:space:]]*$/) { imports[++nimports] = $0; next }
    add($0); next
}

/^<!-- snippet: continues -->[[:space:]]*$/ { continues = 1; next }
/^<!-- snippet context:[[:space:]]*$/ { incontext = 1; next }

/^```/ {
    fence = ($0 ~ /^```swift[[:space:]]*$/) ? "swift" : "other"
    first = 1; start = NR
    next
}

END { flush() }
