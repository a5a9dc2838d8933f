#!/usr/bin/env bash
# Sanitizer runs of the Linux library (issue 11, "The harness that keeps it so").
#
#   scripts/test-sanitizers.sh [asan] [tsan]     (default: both)
#
# asan: the library's sources (read from binding.gyp by fuzz/gyp-sources.py,
#   so there is no second list) built with AddressSanitizer + UBSan into
#   build/sanitize/asan/ostls.node; the WHOLE tap suite then runs against it
#   through OSTLS_LIBRARY, with the ASan runtime LD_PRELOADed into every
#   process the suite starts (node is not instrumented, so the runtime must be
#   first in the initial library list). detect_leaks=0: node itself leaks by
#   design at exit; leaks in the library are caught by the fuzz targets and
#   the thread driver below, which run with LeakSanitizer on.
# tsan: the library built with ThreadSanitizer (gcc's runtime, see run_tsan)
#   and the test files that connect, close and destroy during DNS run against
#   it inside node, the same way; then fuzz/threads.c drives connections from
#   several threads at once against the TSan-built sources directly.
#
# Any report fails the run: halt_on_error + abort_on_error stop the process at
# the first report, and every report is also written under
# .tap/sanitizer-logs/, which is scanned afterwards (a child process that
# crashed is seen too). Results are TAP in .tap/results-asan and
# .tap/results-tsan for scripts/count-results.js.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
CC=${CC:-clang}
timeout=${OSTLS_SANITIZER_TIMEOUT:-600}
which=("$@")
[ ${#which[@]} -eq 0 ] && which=(asan tsan)

mapfile -t sources < <(python3 fuzz/gyp-sources.py sources)
mapfile -t gypflags < <(python3 fuzz/gyp-sources.py cflags)
mapfile -t libs < <(python3 fuzz/gyp-sources.py libraries)
[ ${#sources[@]} -gt 0 ] || { echo "sanitizers: no sources read from binding.gyp"; exit 1; }
common=(-g -O1 -fPIC -fno-omit-frame-pointer -fno-sanitize-recover=all "${gypflags[@]}")

# Writes one TAP file: $1 dir, $2 name, $3 status (0 = ok), $4 description.
tap_line() {
  mkdir -p "$1"
  if [ "$3" -eq 0 ]; then printf 'TAP version 14\nok 1 - %s\n1..1\n' "$4" >"$1/$2.tap"
  else printf 'TAP version 14\nnot ok 1 - %s\n1..1\n' "$4" >"$1/$2.tap"; fi
}

# Writes a "no report" TAP line: $1 dir, $2 name, $3 status (0 = ok), $4
# description, then the files holding the reports. A failure names the first
# report's SUMMARY line: CI keeps only its log's tail, where count-results.js
# lists the failures.
reports_line() {
  local first=
  [ "$3" -eq 0 ] || first=$(cat "${@:5}" 2>/dev/null | grep -m1 '^SUMMARY')
  tap_line "$1" "$2" "$3" "$4${first:+ (first: $first)}"
}

# Fails (returns 1) when a sanitizer wrote any report into $1.
scan_reports() {
  local found=0 f
  for f in "$1"/*; do
    [ -s "$f" ] || continue
    found=1
    echo "---- sanitizer report $f"
    head -60 "$f"
  done
  return $found
}

runtime_of() {   # the shared runtime to preload for sanitizer $1 (asan|tsan)
  local lib
  if "$CC" --version | grep -q clang; then
    lib=$("$CC" -print-file-name="libclang_rt.$1-x86_64.so")
  else
    lib=$("$CC" -print-file-name="lib$1.so")
  fi
  [ -f "$lib" ] || { echo "sanitizers: no $1 runtime for $CC ($lib)" >&2; return 1; }
  echo "$lib"
}

run_asan() {
  local out=build/sanitize/asan logs=$root/.tap/sanitizer-logs/asan results=.tap/results-asan
  local start=$SECONDS status=0 rt lib=$root/$out/ostls.node
  rm -rf "$out" "$logs" "$results" .tap/test-results
  mkdir -p "$out" "$logs"
  local shared=()
  "$CC" --version | grep -q clang && shared=(-shared-libasan)
  echo "== asan: building $lib"
  # fuzz/dlopen-shim.c: the runtimes refuse ossl_load.c's RTLD_DEEPBIND (see there).
  if ! "$CC" "${common[@]}" -fsanitize=address,undefined "${shared[@]}" -shared -Wl,-Bsymbolic -o "$lib" \
      -DSHIM_KEEP_DEEPBIND -Wl,--wrap=dlopen fuzz/dlopen-shim.c "${sources[@]}" "${libs[@]}"; then
    tap_line "$results" build 1 "ASan+UBSan build of the library"
    return 1
  fi
  rt=$(runtime_of asan) || { tap_line "$results" build 1 "ASan runtime found"; return 1; }
  [ -f dist/cjs/index.js ] || npm run build >/dev/null
  echo "== asan: the whole suite against it (LD_PRELOAD=$rt)"
  ulimit -c 0
  # allow_user_segv_handler=0: V8 installs its own SIGSEGV handler (wasm
  # traps), which would hide a NULL dereference in the library as a plain
  # crash; this way ASan reports it with its stack. (undici's wasm parser
  # still works: the fetch and http files pass.)
  # --timeout: every process starts ~4x slower under the ASan runtime; the CLI
  # files start dozens of processes and would hit tap's 120 s per file.
  OSTLS_LIBRARY=$lib LD_PRELOAD=$rt \
    ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=1:allow_user_segv_handler=0:log_path=$logs/asan:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1" \
    UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:log_path=$logs/ubsan" \
    node_modules/.bin/tap --timeout "$timeout" || status=1
  rm -rf "$results" && mkdir -p .tap && mv .tap/test-results "$results" 2>/dev/null
  scan_reports "$logs"
  local clean=$?
  reports_line "$results" sanitizer-reports $clean "no AddressSanitizer/UBSan report in any process of the suite" "$logs"/*
  [ $clean -eq 0 ] || status=1
  echo "== asan: $((SECONDS - start)) s, status $status"
  return $status
}

# TSan reports inside node: node and V8 are not instrumented, so TSan sees
# their synchronisation only through its interceptors and reports races inside
# V8's job pool, MessagePort and libuv's rwlock that are not there. A report
# counts when any frame of either access or of a thread's creation is in the
# library (ostls.node); the others are listed by their SUMMARY line only.
tsan_filter() {   # $1 log dir; prints ostls reports in full, returns 1 if any
  local found=0 f
  for f in "$1"/*; do
    [ -s "$f" ] || continue
    awk -v file="$f" '
      /^==================$/ { if (rec ~ /ostls\.node/) { print "---- " file; print rec; bad = 1 }
                              rec = ""; next }
      { rec = rec $0 "\n" }
      END { if (rec ~ /ostls\.node/ && rec ~ /WARNING: ThreadSanitizer/) { print "---- " file; print rec; bad = 1 }
            exit bad }' "$f" || found=1
  done
  local other
  other=$(cat "$1"/* 2>/dev/null | grep -c '^WARNING: ThreadSanitizer')
  echo "== tsan: $other report(s) in all; those in node/V8/libuv alone, by summary:"
  cat "$1"/* 2>/dev/null | grep -h '^SUMMARY' | sort | uniq -c | sed 's/^/   /'
  return $found
}

run_tsan() {
  # gcc's libtsan: LLVM 14's libclang_rt.tsan-x86_64.so crashes at start-up when
  # preloaded into any uninstrumented program (even /bin/true); gcc's works.
  local tcc=${TSAN_CC:-gcc}
  local out=build/sanitize/tsan logs=$root/.tap/sanitizer-logs/tsan results=.tap/results-tsan
  local start=$SECONDS status=0 rt lib=$root/build/sanitize/tsan/ostls.node
  rm -rf "$out" "$logs" "$results" .tap/test-results
  mkdir -p "$out" "$logs"
  echo "== tsan: building $lib"
  if ! "$tcc" "${common[@]}" -fsanitize=thread -shared -Wl,-Bsymbolic -o "$lib" \
      -DSHIM_KEEP_DEEPBIND -Wl,--wrap=dlopen fuzz/dlopen-shim.c "${sources[@]}" "${libs[@]}"; then
    tap_line "$results" build 1 "TSan build of the library"
    return 1
  fi
  rt=$(CC=$tcc runtime_of tsan) || { tap_line "$results" build 1 "TSan runtime found"; return 1; }
  [ -f dist/cjs/index.js ] || npm run build >/dev/null
  # The files that connect, close and destroy while the background DNS lookup
  # runs (host "localhost"): misuse (destroy at every stage), connect and
  # errors (resolution, failures). Not agent.ts: its "exits within 10 s" check
  # times a child node, ~5x slower under TSan. trust-off-thread: the trust
  # store loading on its worker while connections start and end.
  local files=(${OSTLS_TSAN_FILES:-test/misuse.ts test/connect.ts test/errors.ts test/trust-off-thread.ts test/trust.ts})
  echo "== tsan: ${files[*]} against it (LD_PRELOAD=$rt)"
  # setarch -R: TSan's fixed shadow layout and this kernel's 28-bit mmap ASLR.
  # exitcode=0: node's own false reports must not fail tap's processes; the
  # logs decide (tsan_filter).
  OSTLS_LIBRARY=$lib LD_PRELOAD=$rt \
    TSAN_OPTIONS="exitcode=0:second_deadlock_stack=1:log_path=$logs/tsan" \
    setarch "$(uname -m)" -R node_modules/.bin/tap --timeout "$timeout" "${files[@]}" || status=1
  rm -rf "$results" && mkdir -p .tap && mv .tap/test-results "$results" 2>/dev/null
  tsan_filter "$logs" | tee "$out/library-reports.txt"
  local clean=${PIPESTATUS[0]}
  reports_line "$results" sanitizer-reports $clean "no ThreadSanitizer report involving the library" "$out/library-reports.txt"
  [ $clean -eq 0 ] || status=1

  # What one JS thread never does: connections on several threads at once
  # (fuzz/threads.c), the library linked in, every report fatal.
  echo "== tsan: fuzz/threads.c, several threads at once"
  rm -rf "$logs-threads" && mkdir -p "$logs-threads"
  if "$tcc" "${common[@]}" -fsanitize=thread -o "$out/threads" fuzz/threads.c \
      -Wl,--wrap=dlopen fuzz/dlopen-shim.c "${sources[@]}" "${libs[@]}"; then
    TSAN_OPTIONS="halt_on_error=1:abort_on_error=1:second_deadlock_stack=1:log_path=$logs-threads/tsan" \
      setarch "$(uname -m)" -R "$out/threads" ${OSTLS_TSAN_THREADS:-6 100} >"$results/threads.tap" || status=1
    cat "$results/threads.tap"
  else
    tap_line "$results" threads 1 "TSan build of fuzz/threads.c"
    status=1
  fi
  scan_reports "$logs-threads" || { status=1; reports_line "$results" threads-reports 1 "no ThreadSanitizer report from fuzz/threads.c" "$logs-threads"/*; }
  echo "== tsan: $((SECONDS - start)) s, status $status"
  return $status
}

status=0
for w in "${which[@]}"; do
  case $w in
    asan) run_asan || status=1 ;;
    tsan) run_tsan || status=1 ;;
    *) echo "usage: $0 [asan] [tsan]"; exit 2 ;;
  esac
done
exit $status
