# Shared by the benchmark scripts (sourced, not run): each keeps its latest run in
# docs/benchmarks.md between two markers, `<!-- NAME-run:start (bench/NAME.sh replaces this
# part) -->` and `<!-- NAME-run:end -->`, and replaces it with every recorded run.

# Sets start_marker and end_marker for bench/$1.sh.
run_markers() {
    start_marker="<!-- $1-run:start (bench/$1.sh replaces this part) -->"
    end_marker="<!-- $1-run:end -->"
}

# Stops with exit status 2 unless the document $2 holds the markers of bench/$1.sh ($3: the
# option that runs the script without recording).
check_markers() {
    local name=$1 doc=$2 without=$3
    run_markers "$name"
    if [[ ! -f $doc ]] || ! grep -qF "$start_marker" "$doc" || ! grep -qF "$end_marker" "$doc"; then
        echo "error: $doc has no $name-run markers to put the figures between" >&2
        echo "hint: restore docs/benchmarks.md from git, or run $without" >&2
        exit 2
    fi
}

# Replaces the part of the document $1 between the markers (both included) with the file $2,
# which starts and ends with them.
replace_section() {
    python3 - "$1" "$2" "$start_marker" "$end_marker" <<'PYTHON'
import sys
doc, section, start, end = sys.argv[1:5]
text = open(doc).read()
before, rest = text.split(start, 1)
_, after = rest.split(end, 1)
open(doc, "w").write(before + open(section).read().rstrip("\n") + after)
PYTHON
}
