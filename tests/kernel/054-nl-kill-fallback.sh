#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 300
# kill -9 of the controller flips the pool's policy to "fallback" within
# 1 s (the kernel notices the socket's release at once; fallback_timeout_s
# is the default 30 s, so no timeout is involved), while fio reads and the
# controller is receiving reports; three times in a row.  GET_POOL over
# netlink agrees, and the fallback policy then really runs (it moves hot
# extents up).
. "$LAB_PROJECT/tests/lib/lab.sh"
. "$LAB_PROJECT/tests/lib/nl.sh"

nl_require
dmtier_load
POOL_FEATURES="4 policy_interval_ms 200 promote_threshold 2" pool_create_std pool 256 8 8 16
K=$((128 * 1024))
vol_create pool 1 $((4 * 2048))
must pool_msg pool set_volume 1 tiering_policy cost-optimized
pat_make a $((16 * K))
pat_write /dev/mapper/pool-1 0 a || fail "write volume 1"
[ "$(pool_field pool policy)" = fallback ] || fail "policy before any controller: $(dmsetup status pool)"

fio --name=r --filename=/dev/mapper/pool-1 --direct=1 --ioengine=libaio --rw=randread --bs=4k \
	--size=$((16 * K)) --iodepth=4 --rate_iops=1000 --time_based --runtime=600 >/tmp/fio.out 2>&1 &
fio_pid=$!
worst=0
for round in 1 2 3; do
	nl_listen_start /tmp/r$round --pool pool
	[ "$(pool_field pool policy)" = controller ] || fail "policy with a controller: $(dmsetup status pool)"
	((round == 1)) && done0=$(pool_field pool mig_done)
	# (fio may take a while to start under emulation)
	wait_for 30 grep -q '^transitions ' /tmp/r$round ||
		fail "the controller received no transitions: $(cat /tmp/r$round.err)"
	sleep 1
	# tier-nlctl kill-wait sends the SIGKILL itself and polls GET_POOL
	# (the status' policy) in a tight loop: a shell polling dmsetup status
	# takes seconds per call under emulation.  The kernel log's clock
	# gives a second view: a mark written (no fork) before, and the line
	# the kernel prints when it drops the controller.
	kmsg_mark "round $round: kill -9 $LISTEN_PID"
	out=$("$TIER_NLCTL" kill-wait pool "$LISTEN_PID" 5000) || fail "round $round: $out"
	wait "$LISTEN_PID" 2>/dev/null
	flipped=$(echo "$out" | sed -n 's/^policy=fallback after_ms=\([0-9]*\)$/\1/p')
	[ -n "$flipped" ] || fail "round $round: kill-wait: $out"
	[ "$(pool_field pool policy)" = fallback ] || fail "round $round: status policy $(pool_field pool policy) after kill -9"
	klog=$(dmesg | awk -v m="round $round: kill -9" '
		{ ts = $0; sub(/^\[ */, "", ts); sub(/\].*/, "", ts); ts += 0 }
		index($0, m) { t = ts }
		t && /controller gone/ { printf "%d", (ts - t) * 1000; exit }')
	info "round $round: policy fallback ${flipped} ms after kill -9 (kernel log, from before tier-nlctl started: ${klog:-?} ms)"
	((flipped <= 1000)) || fail "round $round: policy flipped ${flipped} ms after kill -9"
	((flipped > worst)) && worst=$flipped
done
info "worst flip: ${worst} ms"

# The fallback policy runs: hot extents move up (since the first kill; the
# residency guard keeps each extent's moves 2 s apart).
wait_for 20 eval '(($(pool_field pool mig_done) > done0))' || fail "the fallback policy moved nothing: $(dmsetup status pool)"
kill "$fio_pid" 2>/dev/null
wait "$fio_pid"
mig_idle pool
pat_check /dev/mapper/pool-1 0 a || fail "data changed"
must dmsetup remove pool-1
must dmsetup remove pool
dmtier_unload
exit 0
