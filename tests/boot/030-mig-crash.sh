#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Crash tests for migration: the lab VM is killed (sysrq b) between copy
# and commit and right after a commit, four boots on the same file-backed
# disks (commit_interval_ms 60000, so nothing commits behind our back):
#
#  1. fill volume 1, flush; move 60 extents (copied and switched, not
#     committed); volume 2 takes every free extent without a flush (the
#     sources of the moves must not be reused before a commit); crash.
#  2. the placement is the one of the last flush, the data verifies, the
#     pool's used counts equal the mapped counts; move 20 extents, flush,
#     write and flush again, crash at once (right after the commit).
#  3. the moved placement survived, the data verifies; with the bandwidth
#     capped, extents move (some once, some over and over), writes and a
#     flush land meanwhile; crash with copies in flight.
#  4. every extent moved once is where it was before or after that flush,
#     the data verifies, the accounting holds, nothing is marked migrating,
#     and new allocations do not clobber it.
# Data the test wrote and flushed is tracked in expected.img on the result
# share; it must read back exactly.
set -u
here=$(cd "$(dirname "$0")" && pwd -P)
project=$(cd "$here/../.." && pwd -P)

# ------------------------------------------------------------ in the VM
if [ "${1:-}" = guest ]; then
	. "$LAB_PROJECT/tests/lib/lab.sh"
	phase=$2
	S=$LAB_OUT/state
	K=$((128 * 1024))
	NE=96 # extents of volume 1

	dmtier_load
	meta=/dev/lab/migmeta t0=/dev/lab/migt0 t1=/dev/lab/migt1 t2=/dev/lab/migt2
	for d in $meta $t0 $t1 $t2; do
		[ -b "$d" ] || fail "no $d"
	done
	POOL_FEATURES="3 commit_interval_ms 60000 no_fallback"
	table=$(pool_table "$meta" 256 "$t0" "$t1" "$t2")

	dmesg_clean() {
		! dmesg | grep -E 'BUG:|WARNING:|Oops|general protection|blocked for more than|Call Trace:' ||
			fail "kernel log: $(dmesg | grep -m1 -E -A5 'BUG:|WARNING:|Oops|general protection|blocked for more')"
	}
	crash() { # crash NAME: record that we got here, then die without a sync
		dmesg_clean
		echo "$1" >"$S/reached"
		sync "$S/reached" "$S/expected.img" 2>/dev/null
		echo b >/proc/sysrq-trigger
		sleep 30
		fail "still alive after sysrq b"
	}
	flush() { sync /dev/mapper/pool-1 || fail "flush failed"; }
	# tiers: "extent tier" lines of volume 1 (one dump_heat through dm-msg:
	# quick, and 96 extents fit in one reply).
	tiers() {
		echo "pool dump_heat 1" | "$DM_MSG" | awk 'NF == 7 { print $3, $4 }' | grep . ||
			fail "dump_heat failed"
	}
	check_data() {
		cmp -s <(dd if=/dev/mapper/pool-1 bs=1M iflag=direct status=none) "$S/expected.img" ||
			fail "$1: volume 1 differs from the data written and flushed: first difference $(cmp <(dd if=/dev/mapper/pool-1 bs=1M iflag=direct status=none) "$S/expected.img" 2>&1 | head -n1)"
	}
	# Per tier: pool used == volumes mapped, after commits.
	check_accounting() {
		local i s
		must pool_msg pool commit
		must pool_msg pool commit
		for i in 0 1 2; do
			s=$(($(vol_mapped pool-1 "$i") + $(vol_mapped pool-2 "$i")))
			(($(pool_field pool used "$i") == s)) ||
				fail "$1: tier $i: pool uses $(pool_field pool used "$i"), volumes map $s: $(dmsetup status pool) / $(dmsetup status pool-1) / $(dmsetup status pool-2)"
		done
		(($(vol_mapped pool-1 sum) == NE)) || fail "$1: volume 1 maps $(vol_mapped pool-1 sum) extents, not $NE"
		heat_dump pool 1 | awk '$5 ~ /m/' | grep . && fail "$1: extents marked migrating after reactivation"
		return 0
	}
	# write_flushed TAG EXTENT: pattern TAG (128 KiB) at EXTENT, then flush;
	# only then is it expected.
	write_flushed() {
		pat_make "$1" $K
		pat_write /dev/mapper/pool-1 $(($2 * K)) "$1" || fail "write $1 at extent $2"
		flush
		dd if="/tmp/pat.$1" of="$S/expected.img" bs=$K seek="$2" conv=notrunc status=none
	}
	activate() {
		dm_create pool "$table" || fail "$1: pool activation failed: $(dmesg | tail -n 5)"
		vol_activate pool 1 $((NE * 256))
		vol_activate pool 2 $((NE * 256))
	}

	case $phase in
	1)
		dm_create pool "$table" || fail "cannot create the pool: $(dmesg | tail -n 3)"
		must pool_msg pool create_volume 1
		must pool_msg pool set_volume 1 tiering_policy striped
		must pool_msg pool create_volume 2
		vol_activate pool 1 $((NE * 256))
		vol_activate pool 2 $((NE * 256))
		head -c $((NE * K)) /dev/urandom >"$S/expected.img"
		dd if="$S/expected.img" of=/dev/mapper/pool-1 bs=1M oflag=direct status=none ||
			fail "fill volume 1"
		flush
		commits=$(pool_stat pool commits)
		tiers >"$S/tiers.1"
		info "filled: $(dmsetup status pool | cut -d' ' -f4-); volume 1: $(dmsetup status pool-1 | cut -d' ' -f4-)"
		# 20 extents of each tier move one tier on (0->1, 1->2, 2->0).
		# Suspend / resume restarts the 60 s commit timer.
		must dmsetup suspend pool
		must dmsetup resume pool
		commits=$(pool_stat pool commits)
		awk '{ n[$2]++; if (n[$2] <= 20) print "pool migrate 1", $1, ($2 + 1) % 3 }' "$S/tiers.1" |
			"$DM_MSG" >/tmp/msgs
		grep -v ' rc=0$' /tmp/msgs && fail "migrate refused"
		mig_idle pool
		(($(pool_field pool mig_done) == 60)) || fail "60 moves expected: $(dmsetup status pool)"
		info "moved, not committed: $(dmsetup status pool | cut -d' ' -f4-)"
		# Volume 2 takes every free extent, no more: the sources of the
		# moves are not free until a commit (a write beyond would make the
		# pool commit to release them, which this crash must not see).
		free=$(($(pool_field pool total_sum) - $(pool_field pool used_sum)))
		((free > 0)) || fail "no free extent left for volume 2: $(dmsetup status pool)"
		dd if=/dev/urandom of=/dev/mapper/pool-2 bs=$K count=$free oflag=direct status=none ||
			fail "volume 2 could not take the $free free extents: $(dmsetup status pool)"
		info "volume 2 got $(vol_mapped pool-2 sum) extents: $(dmsetup status pool | cut -d' ' -f4-)"
		(($(vol_mapped pool-2 sum) == free)) || fail "volume 2 maps $(vol_mapped pool-2 sum) extents, want $free"
		(($(pool_field pool used_sum) == $(pool_field pool total_sum))) ||
			fail "free extents left after volume 2 took $free: $(dmsetup status pool)"
		check_data "before the crash"
		(($(pool_stat pool commits) == commits)) ||
			fail "a commit happened after the flush (this boot took over commit_interval_ms?): $(pool_msg pool stats)"
		crash 1
		;;
	2)
		activate "after crash 1"
		tiers >"$S/tiers.2a"
		diff "$S/tiers.1" "$S/tiers.2a" >/dev/null ||
			fail "placement after crash 1 is not the last flushed one: $(diff "$S/tiers.1" "$S/tiers.2a" | head -n 5)"
		(($(vol_mapped pool-2 sum) == 0)) || fail "volume 2 kept uncommitted extents: $(dmsetup status pool-2)"
		check_data "after crash 1"
		check_accounting "after crash 1"
		info "crash 1 (moves copied and switched, not committed): placement and data as flushed"
		# Moves, then a flush commits them; one more write and flush.
		awk 'NR % 4 == 1 { print "pool migrate 1", $1, ($2 + 2) % 3 }' "$S/tiers.2a" | head -n 20 |
			"$DM_MSG" >/tmp/msgs
		grep -v ' rc=0$' /tmp/msgs && fail "migrate refused"
		mig_idle pool
		flush
		tiers >"$S/tiers.2"
		diff "$S/tiers.2a" "$S/tiers.2" >/dev/null && fail "nothing moved"
		write_flushed c 5
		write_flushed c2 $((NE - 1))
		crash 2
		;;
	3)
		activate "after crash 2"
		tiers >"$S/tiers.3a"
		diff "$S/tiers.2" "$S/tiers.3a" >/dev/null ||
			fail "placement committed by a flush lost in crash 2: $(diff "$S/tiers.2" "$S/tiers.3a" | head -n 5)"
		check_data "after crash 2"
		check_accounting "after crash 2"
		info "crash 2 (right after a commit): the moved placement and the data survived"
		# Slow copies (1 MiB/s: 8 extents/s).  Extents 16 and up on tiers 0
		# and 1 are queued to move once, to tier 2; extents 0-15 keep being
		# sent to random tiers until the crash, so copies are in flight
		# when it comes; writes (one to a bouncing extent) and a flush
		# while they run.  Suspend / resume restarts the 60 s commit timer.
		must pool_msg pool set migration_bandwidth_mbps 1
		must dmsetup suspend pool
		must dmsetup resume pool
		awk '$1 >= 16 && $2 < 2 { print "pool migrate 1", $1, 2 }' "$S/tiers.3a" |
			"$DM_MSG" >/tmp/msgs
		grep -v ' rc=0$' /tmp/msgs && fail "migrate refused"
		# (No fork per line: on a loaded host a slow writer let the queue
		# run dry before the crash.)
		while :; do
			for ((e = 0; e < 16; e++)); do echo "pool migrate 1 $e $((RANDOM % 3))"; done
			sleep 0.5
		done | "$DM_MSG" >/dev/null &
		write_flushed d $((NE - 2))
		write_flushed d2 3
		tiers >"$S/tiers.3b"
		flush
		commits=$(pool_stat pool commits)
		tiers >"$S/tiers.3c"
		wait_for 30 eval '(($(pool_field pool mig_queued) + $(pool_field pool mig_in_flight) > 0))' ||
			fail "no copies left in flight to crash in: $(dmsetup status pool)"
		(($(pool_stat pool commits) == commits)) ||
			fail "a commit happened after the flush (this boot took over commit_interval_ms?): $(pool_msg pool stats)"
		info "crashing with $(pool_field pool mig_in_flight) copies in flight, $(pool_field pool mig_queued) queued, $(pool_field pool mig_done) done"
		crash 3
		;;
	4)
		activate "after crash 3"
		tiers >"$S/tiers.4"
		# Each extent moved at most once (16 and up) is where it was just
		# before or just after the flush.
		bad=$(paste -d' ' "$S/tiers.3b" "$S/tiers.3c" "$S/tiers.4" |
			awk '$1 != $3 || $1 != $5 || ($1 >= 16 && $6 != $2 && $6 != $4)')
		[ -z "$bad" ] || fail "after crash 3, extents neither where they were before nor after the last flush (extent before after now): $bad"
		check_data "after crash 3"
		check_accounting "after crash 3"
		# New allocations must not land on anything volume 1 maps.
		fio_verify /dev/mapper/pool-2 --rw=write --bs=128k --size=$((NE * K))
		check_data "after filling volume 2"
		check_accounting "after filling volume 2"
		dmesg_clean
		info "crash 3 (copies in flight): placement as flushed, data intact"
		must dmsetup remove pool-1
		must dmsetup remove pool-2
		must dmsetup remove pool
		;;
	*) fail "unknown phase $phase" ;;
	esac
	exit 0
fi

# ------------------------------------------------------------ on the host
lab=$project/tools/lab
build=${LAB_BUILD:-$project/build}
disks=${LAB_DIR:-$build/lab}/disks
out=$(mktemp -d /tmp/mig-crash.XXXXXX)
trap 'rm -rf "$out"; rm -f "$disks"/mig{meta,t0,t1,t2}.img' EXIT
mkdir -p "$out/state" "$disks"
rm -f "$disks"/mig{meta,t0,t1,t2}.img
vmargs=(--disk migmeta:8M --disk migt0:8M --disk migt1:8M --disk migt2:16M
	--out "$out" --timeout 400)

boot() { # boot PHASE EXPECT(crash|ok)
	local rc reached
	echo "--- boot $1"
	rm -f "$out/state/reached"
	"$lab" vm "${vmargs[@]}" -- "$here/030-mig-crash.sh" guest "$1" >"$out/boot$1.log" 2>&1
	rc=$?
	grep -E '^  |^FAIL|^SKIP' "$out/boot$1.log"
	reached=$(cat "$out/state/reached" 2>/dev/null)
	if [ "$2" = crash ]; then
		if ((rc != 125)) || [ "$reached" != "$1" ]; then
			tail -n 40 "$out/boot$1.log"
			echo "FAIL: boot $1 should have crashed at its crash point (status $rc, reached '${reached}')"
			exit 1
		fi
	elif ((rc != 0)); then
		tail -n 40 "$out/boot$1.log"
		echo "FAIL: boot $1 ended with status $rc"
		exit 1
	fi
}

boot 1 crash
boot 2 crash
boot 3 crash
boot 4 ok
echo "PASS: 3 crashes survived (uncommitted moves, right after a commit, copies in flight)"
exit 0
