# Sourced by .ci/run and the tools/ test scripts: `step CMD...` runs CMD and prints how long
# it took and the time since the first `step` (so CI's log shows where the time goes).
RVCNN_STEP_START=${RVCNN_STEP_START:-$(date +%s)}
export RVCNN_STEP_START
step() {
  local t0=$SECONDS
  "$@"
  echo "[step $(( SECONDS - t0 ))s, $(( $(date +%s) - RVCNN_STEP_START ))s since start] $*" >&2
}
