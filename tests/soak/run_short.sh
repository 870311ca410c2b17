#!/bin/sh
# ctest's soak_short: a few seconds of the soak, never longer than it must.
#
#   run_short.sh EMULATOR PROBE SOAK SECONDS FIXTURES NORANDOM
#
# EMULATOR is empty natively, "qemu-<arch> -L ..." in a cross build.  Under
# an emulator the thread probe runs first, with a time limit: where qemu
# cannot create threads (it can hang doing so), the soak runs with
# --threads 0 (everything on one thread, no thread created) and says why.
# Every run is bounded by timeout(1), whatever ctest's own TIMEOUT does.
# NORANDOM=1 (TSan builds) runs the soak under setarch -R.
set -u
emu=$1 probe=$2 soak=$3 secs=$4 fixtures=$5 norandom=${6:-0}
limit=$((secs * 4 + 90))

threads="--threads 2 --lookup-threads 1"
if [ -n "$emu" ]; then
    # shellcheck disable=SC2086 # EMULATOR is a command line
    if timeout -k 5 30 $emu "$probe" >/dev/null 2>&1; then
        echo "soak_short: threads work under '$emu': threaded soak"
    else
        echo "soak_short: thread creation fails or hangs under '$emu' (qemu-user):" \
             "running the soak on one thread (--threads 0)"
        threads="--threads 0 --lookup-threads 0"
    fi
fi
pre=""
if [ "$norandom" = 1 ] && command -v setarch >/dev/null 2>&1; then
    pre="setarch $(uname -m) -R"
fi
# shellcheck disable=SC2086
timeout -k 10 "$limit" $pre $emu "$soak" --seconds "$secs" $threads --progress 0 \
    --stall 60 --fixtures "$fixtures"
rc=$?
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    echo "soak_short: the soak did not finish within $limit s: killed" >&2
fi
exit "$rc"
