#!/usr/bin/env bash
# libFuzzer runs of the Linux library (issue 11, "The harness that keeps it so").
#
#   scripts/fuzz.sh [seconds] [target ...]     (default: 60 s each, every target)
#
# Each fuzz/targets/<name>.c is linked with the library's own sources (read
# from binding.gyp by fuzz/gyp-sources.py) under clang's
# -fsanitize=fuzzer,address,undefined, starts from the checked-in seeds in
# fuzz/corpus/<name>/ (plus fuzz/<name>.dict when there is one), and runs for
# the given time. New inputs go to build/fuzz/corpus/<name>/, a crash to
# build/fuzz/artifacts/<name>-crash-* (replay it: build/fuzz/<name> FILE).
# One TAP file per target in .tap/results-fuzz/; exit 1 when any target
# failed to build, crashed, leaked, hung (-timeout) or broke a FUZZ_ASSERT.
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
CC=${FUZZ_CC:-clang}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in fuzz/targets/*.c; do targets+=("$(basename "$f" .c)"); done
fi

mapfile -t sources < <(python3 fuzz/gyp-sources.py sources)
mapfile -t gypflags < <(python3 fuzz/gyp-sources.py cflags)
mapfile -t libs < <(python3 fuzz/gyp-sources.py libraries)
out=build/fuzz results=.tap/results-fuzz
rm -rf "$results"
mkdir -p "$out/artifacts" "$results"
# fuzz/dlopen-shim.c: the sanitizer runtime refuses ossl_load.c's RTLD_DEEPBIND.
flags=(-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
       "${gypflags[@]}" -Ifuzz/targets -Wl,--wrap=dlopen)

status=0
for t in "${targets[@]}"; do
  start=$SECONDS
  tap=$results/$t.tap
  echo "== fuzz $t: building"
  if ! "$CC" "${flags[@]}" -o "$out/$t" "fuzz/targets/$t.c" fuzz/dlopen-shim.c "${sources[@]}" "${libs[@]}"; then
    printf 'TAP version 14\nnot ok 1 - fuzz %s: build\n1..1\n' "$t" >"$tap"
    status=1
    continue
  fi
  mkdir -p "$out/corpus/$t"
  dict=()
  [ -f "fuzz/$t.dict" ] && dict=(-dict="fuzz/$t.dict")
  echo "== fuzz $t: $secs s"
  # A one-certificate trust store: OpenSSL would otherwise parse the whole
  # system bundle for every new `ca` text (fuzz/targets/pem.c), ~100x slower.
  SSL_CERT_FILE=$PWD/assets/selftest/ca.pem SSL_CERT_DIR=/nonexistent \
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
  LSAN_OPTIONS=suppressions=$PWD/fuzz/lsan.supp \
    "$out/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
      -print_final_stats=1 -artifact_prefix="$out/artifacts/$t-" "${dict[@]}" \
      "$out/corpus/$t" "fuzz/corpus/$t" >"$out/$t.log" 2>&1
  rc=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$out/$t.log" | grep -o '[0-9]*$')
  cov=$(grep -o 'cov: [0-9]*' "$out/$t.log" | tail -1)
  desc="fuzz $t: ${secs} s, ${runs:-0} inputs, ${cov:-cov: ?}, $(($(ls "$out/corpus/$t" | wc -l))) new corpus files, $((SECONDS - start)) s wall"
  if [ $rc -eq 0 ]; then
    printf 'TAP version 14\nok 1 - %s\n1..1\n' "$desc" >"$tap"
  else
    status=1
    printf 'TAP version 14\nnot ok 1 - %s (exit %d)\n1..1\n' "$desc" "$rc" >"$tap"
    grep -E -A40 '^==[0-9]+==ERROR|^fuzz: |runtime error|SUMMARY' "$out/$t.log" | head -80
    ls "$out/artifacts/$t-"* 2>/dev/null
  fi
  head -2 "$tap" | tail -1
done
exit $status
