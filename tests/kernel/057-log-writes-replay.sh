#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 420
# Power-cut replay with dm-log-writes (issue #10 item 2; docs/reliability.md,
# "Power-cut replay").  The pool's metadata device and each of its three
# tiers sit behind their own dm-log-writes device.  While `crashio write`
# (tests/crash/crashio.c: self-describing 4 KiB blocks, RWF_DSYNC writes,
# whole-extent discards, fdatasync; it logs what each completed flush made
# durable) runs on a volume and a loop sends `migrate` messages, the test
# cuts all four logs at one point every LOGW_INTERVAL seconds with
# `tier-logreplay mark`: it suspends the four log-writes devices, sends each
# the same mark and resumes them, so no write or flush completes on any of
# them between the marks.  The size of crashio's log read just before is
# the record of what was acknowledged and flushed before that point; the
# lines written until the mark returned are operations that may or may
# not be in the state (their flushes are not counted).
# Afterwards, for every mark:
#   - every log is replayed (incrementally) onto scratch devices up to the
#     mark, copied onto work devices;
#   - tier_check (with the tiers' labels) passes on the metadata;
#   - the pool activates on the copies in rw mode without needs_check;
#   - `crashio verify` finds every block whose write or discard was
#     acknowledged before a completed flush as it must be.
# And at FLUSH/FUA entries of the metadata log alone (each commit point of
# the metadata device replayed on its own; LOGW_META_POINTS of them, spread
# evenly), tier_check passes: blank before the first commit, clean after.
# A control at the first mark: crashio's whole log (flushes after the
# mark) must fail to verify, so the verifier is not vacuous there.
#
# Environment: LOGW_SAVE_LOGS=1 (on a failure, keep the logs and replays
# in $LAB_OUT/logs/057-MARK), LOGW_MIGRATE=0 (no migrate messages), LOGW_MARKS (default 4), LOGW_INTERVAL (seconds between
# marks, default 2; the workload runs ~MARKS × (INTERVAL + the time a mark
# takes) seconds), LOGW_SEED; LOGW_META_POINTS (FLUSH/FUA entries of the
# metadata log checked alone, default 8; 0: all).  The long run
# (docs/reliability.md) is
#   tools/lab vm --cpus 1 --mem 14G --timeout 9000 -- env LAB_TEST_TIMEOUT=8800 LOGW_LOGMIB=2560 \
#       LOGW_MARKS=30 LOGW_INTERVAL=10 LOGW_META_POINTS=300 tests/kernel/run 057-log-writes-replay
# with LOGW_LOGMIB (MiB per log device, default 1024; memory-backed,
# only what is written takes memory: that run fills about 2 GB of each
# tier's log).
. "$LAB_PROJECT/tests/lib/lab.sh"

MARKS=${LOGW_MARKS:-4}
INTERVAL=${LOGW_INTERVAL:-2}
SEED=${LOGW_SEED:-$(date +%s)}
META_POINTS=${LOGW_META_POINTS:-8}
LOGMIB=${LOGW_LOGMIB:-1024}
EXT=256 # sectors: 128 KiB extents
EXT_BYTES=$((EXT * 512))
VOL_SECTORS=$((16 * 2048)) # 128 extents
info "seed $SEED, $MARKS marks every ${INTERVAL}s"
t0=$SECONDS
phase() { info "[$((SECONDS - t0))s] $*"; }

modprobe dm-log-writes 2>/dev/null
grep -qw log-writes <(dmsetup targets) || skip "no dm-log-writes target (CONFIG_DM_LOG_WRITES)"
dmtier_load

# The tools, from tmpfs (exec over 9p is slow under TCG).
bin=/tmp/lwbin
mkdir -p $bin
for p in "$LAB_BUILD/tools/tier-logreplay/tier-logreplay" "$LAB_BUILD/tools/tier-metadata/tier_check" \
	"$LAB_BUILD/tests/crashio"; do
	[ -x "$p" ] || fail "$p is not built"
	cp "$p" $bin/
done
# And their libraries (libstdc++, libdevmapper, ...): a mark is a pause of
# the pool's I/O, loading them over 9p would make it long.
mkdir -p $bin/lib
for l in $(ldd $bin/tier-logreplay $bin/tier_check 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | sort -u); do
	cp -L "$l" $bin/lib/
done
export PATH=$bin:$PATH LD_LIBRARY_PATH=$bin/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

# Devices: o* the pool's, l* their logs, r* the replays (kept from mark
# to mark), w* the work copies a pool activates on, rmo the metadata
# replayed alone.
names=(meta t0 t1 t2)
sizes=(8 8 8 16)
for i in 0 1 2 3; do
	n=${names[$i]} s=${sizes[$i]}
	lab_tier "o$n" "$s" 10000 >/dev/null
	lab_tier "r$n" "$s" 0 >/dev/null
	lab_tier "w$n" "$s" 0 >/dev/null
	lab_tier "l$n" "$LOGMIB" 0 >/dev/null
	dm_create "lw$n" "0 $(dev_sectors /dev/o$n) log-writes /dev/o$n /dev/l$n" ||
		fail "cannot create log-writes device lw$n"
done
lab_tier rmo 8 0 >/dev/null

POOL_FEATURES="3 no_fallback commit_interval_ms 200"
pool_create pool /dev/mapper/lwmeta $EXT /dev/mapper/lwt0 /dev/mapper/lwt1 /dev/mapper/lwt2
must pool_msg pool create_volume 1
must pool_msg pool set_volume 1 tiering_policy striped
vol_activate pool 1 $VOL_SECTORS

# ------------------------------------------------------------ the workload
phase "devices ready; workload starts"
: >/tmp/crashio.log
# CRASHIO_FUA=self: a RWF_DSYNC write makes only itself durable (a power
# cut loses unflushed writes; the crash test's lab VM does not).
CRASHIO_FUA=self crashio write /dev/mapper/pool-1 /tmp/crashio.log 1 "$SEED" $EXT_BYTES 2>/tmp/crashio.err &
wpid=$!
(
	RANDOM=$SEED
	while [ ! -e /tmp/stop ] && [ "${LOGW_MIGRATE:-1}" = 1 ]; do
		for i in 1 2 3 4 5 6 7 8; do
			echo "pool migrate 1 $((RANDOM % 128)) $((RANDOM % 3))"
		done
	done
) | "$DM_MSG" 0.05 >/tmp/msgs 2>&1 &
mpid=$!

: >/tmp/marks
for k in $(seq "$MARKS"); do
	sleep "$INTERVAL"
	kill -0 $wpid 2>/dev/null || { cat /tmp/crashio.err; fail "crashio write stopped"; }
	len=$(stat -c %s /tmp/crashio.log)
	out=$(tier-logreplay mark "m$k" lwmeta lwt0 lwt1 lwt2 2>&1) || fail "mark m$k: $out"
	echo "m$k $len $(stat -c %s /tmp/crashio.log)" >>/tmp/marks
	phase "mark m$k"
done
kill $wpid
wait $wpid 2>/dev/null
touch /tmp/stop
kill $mpid # dm-msg: do not wait for it to drain the pipe
wait $mpid 2>/dev/null
for n in "${names[@]}"; do
	st=$(dmsetup status "lw$n")
	case $st in *logging_disabled*) fail "lw$n stopped logging (log device full?): $st" ;; esac
done
moved=$(pool_field pool mig_done)
failed=$(pool_field pool mig_failed)
accepted=$(grep -c ' rc=0$' /tmp/msgs)
other=$(grep ' rc=' /tmp/msgs | grep -Ev ' rc=(0|61|16)$' | head -n 3)
[ -z "$other" ] || fail "migrate refused with unexpected errors: $other"
((moved > 0)) || [ "${LOGW_MIGRATE:-1}" = 0 ] || fail "no migration completed during the workload"
info "workload: $(tail -n 1 /tmp/crashio.err); $accepted migrate messages accepted, $moved moves done, $failed failed; $(grep -c '^F' /tmp/crashio.log) durable points logged"
must dmsetup remove pool-1
must dmsetup remove pool
for n in "${names[@]}"; do
	must dmsetup remove "lw$n" # logs the unflushed rest and a last mark
done

# ------------------------------------------------------------ the logs
phase "workload done"
for n in "${names[@]}"; do
	tier-logreplay list "/dev/l$n" >"/tmp/list.$n" || fail "log of $n: $(cat "/tmp/list.$n")"
	info "$(head -n 1 "/tmp/list.$n")"
	for k in $(seq "$MARKS"); do
		grep -qx "entry [0-9]* MARK m$k" "/tmp/list.$n" || fail "log of $n has no mark m$k"
	done
done

# A bad log is refused and changes nothing: the metadata log with its magic
# broken, replayed onto rmo.
dd if=/dev/lmeta of=/tmp/badlog bs=1M count=4 status=none
printf 'X' | dd of=/tmp/badlog bs=1 seek=0 conv=notrunc status=none
head -c 1M /dev/urandom >/tmp/rmo.before
dd if=/tmp/rmo.before of=/dev/rmo bs=1M oflag=direct status=none
out=$(tier-logreplay replay /tmp/badlog /dev/rmo 2>&1)
rc=$?
((rc == 1)) && [[ $out == *"bad magic"* ]] || fail "a log with a bad magic: status $rc, '$out'"
cmp -s -n 1048576 /tmp/rmo.before /dev/rmo || fail "a refused log changed the target"
blkdiscard /dev/rmo || dd if=/dev/zero of=/dev/rmo bs=1M oflag=direct status=none

# ------------------------------------------- the metadata at its commits
# Blank until the pool's first commit; from then on tier_check must pass.
nflush=$(grep -c -E '^entry [0-9]+ [A-Z|]*(FLUSH|FUA)' /tmp/list.meta)
every=1
((META_POINTS > 0 && nflush > META_POINTS)) && every=$(((nflush + META_POINTS - 1) / META_POINTS))
rm -f /tmp/formatted
cat >/tmp/mcheck.sh <<EOF
if tier_check -q /dev/rmo >/tmp/mcheck 2>&1; then
	touch /tmp/formatted
	echo \$LOGREPLAY_FLUSH >>/tmp/mchecked
	exit 0
fi
[ ! -e /tmp/formatted ] && grep -q 'blank, not formatted' /tmp/mcheck && exit 0
echo "tier_check at entry \$LOGREPLAY_ENTRY (FLUSH/FUA #\$LOGREPLAY_FLUSH):"; cat /tmp/mcheck
exit 1
EOF
: >/tmp/mchecked
out=$(tier-logreplay replay --each-flush "sh /tmp/mcheck.sh" \
	--flush-step $every /dev/lmeta /dev/rmo 2>&1) ||
	fail "metadata alone: $out"
nclean=$(wc -l </tmp/mchecked)
((nclean > 0)) || fail "metadata alone: never formatted"
phase "metadata alone: tier_check clean at $nclean of $nflush FLUSH/FUA entries (every ${every}th; blank before the first commit)"

# ------------------------------------------------------------ every mark
prev=
checked=0
while read -r mark len after; do
	for n in "${names[@]}"; do
		out=$(tier-logreplay replay ${prev:+--from-mark "$prev"} --to-mark "$mark" \
			"/dev/l$n" "/dev/r$n" 2>&1) || fail "replay of $n to $mark: $out"
		dd if="/dev/r$n" of="/dev/w$n" bs=1M iflag=direct oflag=direct status=none ||
			fail "cannot copy r$n"
	done
	prev=$mark
	out=$(tier_check --tier /dev/wt0 --tier /dev/wt1 --tier /dev/wt2 /dev/wmeta 2>&1) ||
		fail "$mark: tier_check failed: $out"
	pool_create rpool /dev/wmeta $EXT /dev/wt0 /dev/wt1 /dev/wt2
	mode=$(pool_field rpool mode) nc=$(pool_field rpool needs_check)
	[ "$mode" = rw ] && [ "$nc" = - ] || fail "$mark: the pool activates $mode, needs_check $nc"
	vol_activate rpool 1 $VOL_SECTORS
	# Durable before the cut: crashio's log up to byte len (read before
	# the suspension).  Issued maybe before the cut: the lines up to byte
	# after (read after the resume), as pending operations only - a
	# discard or write issued meanwhile may be in the state (a timer
	# commit), or not; their F lines are dropped, U lines become W.
	awk -v a="$len" -v b="$after" '{ o += length($0) + 1 }
		o <= a { print; next }
		o > b { exit }
		$1 == "F" { next }
		$1 == "U" { $1 = "W" }
		{ print }' /tmp/crashio.log >/tmp/acked
	rm -f /tmp/state
	if ((checked == 0)) && (($(wc -c </tmp/crashio.log) > len)); then
		# The control: flushes after the mark cannot be in this state.
		crashio verify /dev/mapper/rpool-1 /tmp/state /tmp/crashio.log 2 $EXT_BYTES >/tmp/control 2>&1 &&
			fail "$mark: the state at the first mark verified against the whole log (all later flushes)"
		info "$mark control: $(tail -n 1 /tmp/control)"
	fi
	if ! crashio verify /dev/mapper/rpool-1 /tmp/state /tmp/acked 2 $EXT_BYTES >/tmp/verify 2>&1; then
		# Evidence for the report: the mapping, the acknowledged record.
		d=${LAB_OUT:-/tmp}/logs/057-$mark
		mkdir -p "$d"
		cp /tmp/verify /tmp/acked /tmp/crashio.log /tmp/list.* /tmp/msgs "$d/" 2>/dev/null
		heat_dump rpool 1 >"$d/heat" 2>&1
		dmsetup status rpool >"$d/status"
		if [ "${LOGW_SAVE_LOGS:-0}" = 1 ]; then
			for n in "${names[@]}"; do
				u=$(head -n 1 "/tmp/list.$n" | sed -n 's/.*), \([0-9]*\) of .*/\1/p')
				head -c "$u" "/dev/l$n" >"$d/log.$n"
				dd if="/dev/r$n" of="$d/replay.$n" bs=1M status=none
			done
		fi
		fail "$mark: crashio verify failed (details in $d): $(head -n 20 /tmp/verify)"
	fi
	phase "$mark: tiers $(dmsetup status rpool | cut -d' ' -f6-8), $(cat /tmp/verify)"
	must dmsetup remove rpool-1
	must dmsetup remove rpool
	checked=$((checked + 1))
done </tmp/marks
((checked == MARKS)) || fail "checked $checked of $MARKS marks"
info "all $checked marks consistent: tier_check clean, pool rw, every acknowledged and flushed block verified"
