#!/usr/bin/env bash
# What a newcomer's `pip install` gets: build the wheel, install it WITH its dependencies (from the package
# index) into a FRESH virtual environment WITHOUT system site packages, and check the CLI there: help, usage
# errors (exit 2, Typer's usage message), a missing file and a damaged capture (one line, exit 1), a real
# import checked against the corpus manifest, info --json, the demo. Never a traceback.
# Run by .ci/run after pytest; alone: bash tests/smoke/fresh_venv.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CORPUS=${FORENSICS_CORPUS:-$ROOT/../shared/corpus}
PY=${PYTHON:-python3}
CAPTURE=files/nDPI/synscan.pcap   # a corpus pcap; its packet count comes from MANIFEST.tsv (capinfos)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/forensics-smoke.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
unset PYTHONPATH FORENSICS_DEBUG FORENSICS_DB

failures=0
fail() { echo "smoke: FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { echo "smoke: ok: $*"; }

echo "smoke: building the wheel and a fresh venv in $WORK"
"$PY" -m pip wheel -q --no-deps --no-build-isolation -w "$WORK/dist" "$ROOT" >/dev/null
"$PY" -m venv "$WORK/venv"          # no --system-site-packages: only what the wheel declares
VPY="$WORK/venv/bin/python"
"$VPY" -m pip install -q "$WORK"/dist/forensics-*.whl 2>&1 | grep -v -e "^\[notice\]" -e "^WARNING: Location" || true
F="$WORK/venv/bin/forensics"
[ -x "$F" ] || { echo "smoke: FAIL: the wheel did not install a forensics command" >&2; exit 1; }
"$VPY" - <<'PY'
import importlib.util, sys
import typer
outside = [p for p in sys.path if "site-packages" in p and not p.startswith(sys.prefix)]
print(f"smoke: python {sys.version.split()[0]}, typer {typer.__version__}, "
      f"click installed: {importlib.util.find_spec('click') is not None}, "
      f"site-packages outside the venv: {outside or 'none'}")
PY
cd "$WORK"

# run NAME EXPECTED_CODE CMD... : runs CMD, keeps its stdout/stderr in $out/$err, checks the exit code and
# that no traceback was printed
run() {
  local name=$1 want=$2
  shift 2
  set +e
  "$@" >"$WORK/out" 2>"$WORK/err"
  code=$?
  set -e
  out=$(cat "$WORK/out")
  err=$(cat "$WORK/err")
  if [ "$code" != "$want" ]; then fail "$name: exit $code, expected $want; stderr: $(head -c 2000 "$WORK/err")"; return 1; fi
  if grep -q "Traceback" "$WORK/err"; then fail "$name: traceback on stderr: $(tail -5 "$WORK/err")"; return 1; fi
  return 0
}
one_line() {  # NAME NEEDLE...: stderr is exactly one non-empty line holding every NEEDLE
  local name=$1
  shift
  local n
  n=$(grep -c . "$WORK/err" || true)
  if [ "$n" != 1 ]; then fail "$name: $n lines on stderr, expected 1: $err"; return 1; fi
  for needle in "$@"; do
    case "$err" in *"$needle"*) ;; *) fail "$name: stderr lacks '$needle': $err"; return 1 ;; esac
  done
  ok "$name: $err"
}

if run "--help" 0 "$F" --help; then
  case "$out" in *import*) ok "--help" ;; *) fail "--help does not list the import command" ;; esac
fi
if run "unknown option" 2 "$F" --no-such-option; then
  case "$err" in *Usage:*"No such option"*) ok "unknown option: exit 2 with the usage message" ;;
    *) fail "unknown option: no usage message: $err" ;; esac
fi
if run "unknown command" 2 "$F" frobnicate; then
  case "$err" in *Usage:*"No such command"*) ok "unknown command: exit 2 with the usage message" ;;
    *) fail "unknown command: no usage message: $err" ;; esac
fi
run "missing file" 1 "$F" import --quiet --db "$WORK/c.duckdb" "$WORK/not-there.pcap" &&
  one_line "missing file" "$WORK/not-there.pcap" "no such file"

# a damaged capture: a corpus pcap cut in half
size=$(stat -c %s "$CORPUS/$CAPTURE")
head -c $((size / 2)) "$CORPUS/$CAPTURE" >"$WORK/half.pcap"
run "damaged capture" 1 "$F" import --quiet --db "$WORK/d.duckdb" "$WORK/half.pcap" &&
  one_line "damaged capture" "$WORK/half.pcap" "byte offset"

# a real import, checked against the manifest's packet count (capinfos)
want=$(awk -F'\t' -v p="$CAPTURE" 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
  $col["path"] == p { print $col["packets_capinfos"] }' "$CORPUS/MANIFEST.tsv")
if run "import" 0 "$F" import --quiet --db "$WORK/c.duckdb" "$CORPUS/$CAPTURE" &&
   run "info --json" 0 "$F" info --json --db "$WORK/c.duckdb"; then
  got=$("$VPY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["totals"]["packets"])' "$WORK/out")
  if [ "$got" = "$want" ]; then ok "import + info --json: $got packets (capinfos: $want)"
  else fail "info --json: $got packets, capinfos says $want"; fi
fi

if [ -d "$WORK/c.duckdb" ] && [ -f "$WORK/c.duckdb/case.duckdb" ]; then ok "a new case is a folder (a lake, the default)"
else fail "a new --db c.duckdb is not a lake folder"; fi

if run "demo" 0 "$F" demo --quiet --out "$WORK/demo"; then
  if [ -s "$WORK/demo/index.html" ] && [ -s "$WORK/demo/demo.json" ]; then ok "demo --quiet --out: index.html, demo.json"
  else fail "demo: index.html or demo.json missing"; fi
fi

if [ "$failures" -gt 0 ]; then
  echo "smoke: $failures check(s) failed" >&2
  exit 1
fi
echo "smoke: all checks passed in a fresh venv"
