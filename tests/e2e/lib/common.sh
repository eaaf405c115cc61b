# Sourced first by the e2e scripts (tests/e2e/NAME.sh BUILD_DIR): strict mode, $build (absolute),
# $ckf (the binary), $here (tests/), $work (a scratch folder removed on exit: a script that needs
# more cleanup sets its own EXIT trap and removes $work there), fail() and mpi().
set -euo pipefail
build=${1:?usage: $(basename "$0") BUILD_DIR}
build=$(cd "$build" && pwd)
ckf=$build/launch/ckf
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=$(mktemp -d /tmp/ckf-e2e.XXXXXX)
trap 'rm -rf "$work"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# mpi NP COMMAND...: COMMAND on NP local ranks (oversubscribed: the tests run on 2-core machines).
# A script that signals mpirun starts it as "${mpirun[@]}" -np NP ... & so that $! is mpirun.
mpirun=(mpirun --oversubscribe)
if [ "$(id -u)" = 0 ]; then mpirun+=(--allow-run-as-root); fi
mpi() {
  local np=$1; shift
  "${mpirun[@]}" -np "$np" "$@"
}
