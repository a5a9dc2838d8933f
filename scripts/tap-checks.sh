# Sourced by the shell checks that write their own TAP file for
# scripts/count-results.js (test-old-glibc.sh, test-contributor-build.sh,
# test-pack.sh):
#   tap_begin FILE                      starts FILE (TAP version 14)
#   result ok|"not ok" NAME [DETAIL]    one check, also printed; DETAIL's lines as comments
#   finish                              writes the plan and a summary line; exits 0 only
#                                       if every check passed
tap_begin() { tap=$1; echo "TAP version 14" >"$tap"; n=0 failed=0; }
result() {
  n=$((n + 1)); [ "$1" = ok ] || failed=$((failed + 1))
  echo "$1 $n - $2" | tee -a "$tap"
  [ -z "${3:-}" ] || printf '%s\n' "$3" | sed 's/^/  # /' | tee -a "$tap"
}
finish() {
  echo "1..$n" >>"$tap"
  echo "$(basename "$tap" .tap): $((n - failed)) of $n checks passed ($tap)"
  [ $failed -eq 0 ]
  exit
}
