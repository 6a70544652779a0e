# SPDX-License-Identifier: GPL-2.0
# Shell library for the benchmark suite (tools/lab bench, tests/bench/*),
# on top of tests/lib/lab.sh.  Source it inside the lab:
#   . "$LAB_PROJECT/tests/lib/bench.sh"
# It sets up the configurations the suite compares on fresh emulated
# devices, runs fio and tier-replay on them, and measures tierd.
# Results are appended to $BENCH_RESULTS (default $LAB_OUT/results.tsv) as
# tab-separated lines (see bench_result).
. "$LAB_PROJECT/tests/lib/lab.sh"

BENCH_RESULTS=${BENCH_RESULTS:-${LAB_OUT:-/tmp}/results.tsv}
TIER_REPLAY=$LAB_BUILD/tools/tier-replay/tier-replay
TIERD=$LAB_BUILD/userspace/tierd/tierd
BENCH_TRACES=${BENCH_TRACES:-$LAB_PROJECT/../shared/traces}

# bench_result FIELD...: one tab-separated line into $BENCH_RESULTS.
bench_result() {
	local IFS=$'\t'
	echo "$*" >>"$BENCH_RESULTS"
}

# bench_clock: "instruction-counted clock (icount)" or "host clock".
bench_clock() {
	if [ "${LAB_ICOUNT:-0}" = 1 ]; then echo "instruction-counted clock (icount)"; else echo "host clock"; fi
}

# ------------------------------------------------------------------ fio

# bench_fio DEV OPTION...: one fio job on DEV (direct, libaio); prints
#   <read_iops> <read_mean_us> <read_p99_us> <write_iops> <write_mean_us> <write_p99_us> <read_ios> <write_ios>
# from fio's terse v3 output (latency: total; p99: completion latency, or
# total latency with --lat_percentiles=1).
bench_fio() {
	local dev=$1 out=/tmp/bench-fio.$BASHPID
	shift
	fio --name=bench --filename="$dev" --direct=1 --ioengine=libaio \
		--output-format=terse --terse-version=3 "$@" >"$out" 2>&1 ||
		{ cat "$out" >&2; fail "fio on $dev ($*) failed"; }
	awk -F';' '$1 == 3 {
		rp = wp = 0
		for (i = 18; i <= 37; i++) if ($i ~ /^99\.000000%=/) { split($i, a, "="); rp = a[2] }
		for (i = 59; i <= 78; i++) if ($i ~ /^99\.000000%=/) { split($i, a, "="); wp = a[2] }
		printf "%d %.1f %.1f %d %.1f %.1f %d %d\n", $8, $40, rp, $49, $81, wp, $6 / 4, $47 / 4
	}' "$out"
	rm -f "$out"
}

# bench_fill DEV BYTES: write DEV's first BYTES sequentially (1 MiB, QD8).
bench_fill() {
	fio --name=fill --filename="$1" --direct=1 --ioengine=libaio --rw=write --bs=1M \
		--iodepth=8 --size="$2" >/dev/null 2>&1 || fail "fill $1"
}

# ------------------------------------------------------- tier-replay

# bench_replay TRACE DEV OPTION...: tier-replay (text report) of TRACE on
# DEV; prints "<read_ios> <read_mean_us> <read_p99_us> <write_ios> <write_mean_us> <elapsed_s>".
bench_replay() {
	local trace=$1 dev=$2 out=/tmp/bench-replay.$BASHPID
	shift 2
	[ -x "$TIER_REPLAY" ] || fail "not built: $TIER_REPLAY"
	"$TIER_REPLAY" "$@" "$trace" "$dev" >"$out" 2>&1 ||
		{ cat "$out" >&2; fail "tier-replay $* $trace $dev failed"; }
	awk '
	/^replayed/ { for (i = 1; i <= NF; i++) if ($i == "in") { el = $(i + 1) } }
	$1 == "read" { rn = $2; rm = $7; rp = $10 }
	$1 == "write" { wn = $2; wm = $7 }
	END { printf "%d %s %s %d %s %s\n", rn, rm == "" ? "-" : rm, rp == "" ? "-" : rp, wn, wm == "" ? "-" : wm, el }' "$out"
	rm -f "$out"
}

# -------------------------------------------------- configurations

# The configurations of the end-to-end benchmark, on fresh devices each
# time (bench_setup ... bench_teardown):
#   hdd       dm-linear on an emulated HDD            (no tiering)
#   nvme      dm-linear on an emulated NVMe           (the bound)
#   cache     dm-cache, smq, writeback: an NVMe cache of tier 0's capacity
#             over an HDD origin (the cache starts cold)
#   fallback  dm-tier over NVMe / SSD / HDD, the in-kernel fallback policy
#   tierd-M   the same under tierd, the volume's prediction_model M
#             (markov, lstm, auto, ...)
# The dm-tier volume is written on the HDD tier first (cost-optimized),
# then set to balanced: like dm-cache, it starts with everything on HDD.
# Sizes: BENCH_MIB (the volume, the workload's address space; default
# 256), BENCH_EXT (extent / cache block sectors; default 256 = 128 KiB);
# tier 0 and the cache hold 10% of the volume's extents (rounded up to
# whole MiB: bench_fast_extents),
# tier 1 (SSD) BENCH_SSD_PCT % (default 20).
# POLICY_MS: the pool's policy_interval_ms and tierd's round (default 500).
# Sets BDEV (the device to measure) and BCFG.
BENCH_MIB=${BENCH_MIB:-256}
BENCH_EXT=${BENCH_EXT:-256}
BENCH_SSD_PCT=${BENCH_SSD_PCT:-20}
POLICY_MS=${POLICY_MS:-500}
bench_sectors() { echo $((BENCH_MIB * 2048)); }
# Tier 0's device: 10% of the volume's extents, rounded up to whole MiB,
# plus the 1 MiB before a tier's data area; bench_fast_extents is what it
# holds, and the dm-cache cache device is made exactly that large.
bench_t0_mib() { echo $(((BENCH_MIB * 2048 / BENCH_EXT / 10 * BENCH_EXT + 2047) / 2048 + 1)); }
bench_fast_extents() { echo $((($(bench_t0_mib) - 1) * 2048 / BENCH_EXT)); }

bench_setup() {
	local cfg=$1 sectors n0 t0mib t1mib
	sectors=$(bench_sectors)
	n0=$(bench_fast_extents)
	BCFG=$cfg
	case $cfg in
	hdd | nvme)
		local d
		d=$("lab_tier_$cfg" "b$cfg" "$BENCH_MIB")
		dm_create "b-$cfg" "0 $sectors linear $d 0" || fail "dm-linear on $d"
		BDEV=/dev/mapper/b-$cfg
		bench_fill "$BDEV" $((sectors * 512))
		;;
	cache)
		local meta fast origin
		modprobe dm-cache || fail "modprobe dm-cache"
		modprobe dm-cache-smq || fail "modprobe dm-cache-smq"
		meta=$(lab_tier_ssd bcmeta 8)
		fast=$(lab_tier_nvme bcnvme "$(bench_t0_mib)")
		origin=$(lab_tier_hdd bchdd "$BENCH_MIB")
		bench_fill "$origin" $((sectors * 512)) # the data, before the cache
		# Exactly n0 cache blocks, as tier 0 holds n0 extents.
		dm_create b-cfast "0 $((n0 * BENCH_EXT)) linear $fast 0" || fail "dm-linear on $fast"
		dm_create b-cache "0 $sectors cache $meta /dev/mapper/b-cfast $origin $BENCH_EXT 1 writeback smq 0" ||
			fail "dm-cache: $(dmesg | tail -n 3)"
		BDEV=/dev/mapper/b-cache
		;;
	fallback | tierd-*)
		t0mib=$(bench_t0_mib)
		t1mib=$((BENCH_MIB * BENCH_SSD_PCT / 100 + 1))
		meta=$(lab_tier_ssd btmeta 16)
		t0=$(lab_tier_nvme btnvme "$t0mib")
		t1=$(lab_tier_ssd btssd "$t1mib")
		t2=$(lab_tier_hdd bthdd $((BENCH_MIB + 8)))
		POOL_FEATURES="2 policy_interval_ms $POLICY_MS" pool_create bpool "$meta" "$BENCH_EXT" "$t0" "$t1" "$t2"
		local have
		have=$(pool_field bpool total 0)
		[ "$have" = "$n0" ] || echo "  warning: tier 0 holds $have extents, the dm-cache cache $n0 blocks" >&2
		vol_create bpool 1 "$sectors" b-tier >/dev/null
		must pool_msg bpool set_volume 1 tiering_policy cost-optimized
		bench_fill /dev/mapper/b-tier $((sectors * 512))
		[ "$(vol_mapped b-tier 2)" = $((sectors / BENCH_EXT)) ] ||
			fail "volume not all on the HDD tier after the fill: $(dmsetup status b-tier)"
		must pool_msg bpool set_volume 1 tiering_policy balanced
		BDEV=/dev/mapper/b-tier
		if [ "$cfg" != fallback ]; then
			must pool_msg bpool set_volume 1 prediction_model "${cfg#tierd-}"
			tierd_start
		fi
		;;
	*) fail "unknown configuration '$cfg'" ;;
	esac
}

bench_teardown() {
	[ -z "${TIERD_PID:-}" ] || tierd_stop
	if dmsetup info bpool >/dev/null 2>&1; then
		dmsetup remove b-tier >/dev/null 2>&1
		dmsetup remove bpool >/dev/null 2>&1 || fail "cannot remove bpool: $(dmsetup info -c 2>&1)"
	fi
	local d
	for d in b-cache b-cfast b-hdd b-nvme; do
		dmsetup info "$d" >/dev/null 2>&1 && { dmsetup remove "$d" || fail "cannot remove $d"; }
	done
	lab_tiers_remove_all
	BDEV="" BCFG=""
}

# bench_placement: the dm-tier volume's extents per tier ("t0/t1/t2"), or
# dm-cache's "used/total cache blocks, read hits, read misses", or "-".
bench_placement() {
	case $BCFG in
	fallback | tierd-*) dmsetup status b-tier | awk '{ print $4 "/" $5 "/" $6 }' ;;
	cache) dmsetup status b-cache | awk '{ print $7 " rh=" $8 " rm=" $9 }' ;;
	*) echo - ;;
	esac
}

# ------------------------------------------------------------- tierd

# tierd_start: tierd as the pools' controller, rounds of POLICY_MS, the
# model each volume's prediction_model names; waits until it registered.
# Sets TIERD_PID; its log is $LAB_OUT/logs/tierd.log (appended).
tierd_start() {
	[ -x "$TIERD" ] || fail "not built: $TIERD"
	mkdir -p /tmp/tierd-bench "${LAB_OUT:-/tmp}/logs"
	cat >/tmp/tierd-bench/tierd.conf <<-'EOF'
		[daemon]
		rediscover_s = 1
		EOF
	"$TIERD" --config /tmp/tierd-bench/tierd.conf --state-dir /tmp/tierd-bench/state \
		--socket /tmp/tierd-bench/tierd.sock --round-ms "$POLICY_MS" \
		>>"${LAB_OUT:-/tmp}/logs/tierd.log" 2>&1 &
	TIERD_PID=$!
	wait_for 60 pool_field_is bpool policy controller ||
		fail "tierd did not register: $(tail -n 20 "${LAB_OUT:-/tmp}/logs/tierd.log")"
}

tierd_stop() {
	kill -TERM "$TIERD_PID" 2>/dev/null
	wait "$TIERD_PID" 2>/dev/null
	TIERD_PID=""
	rm -rf /tmp/tierd-bench
}

# tierd_cpu_ticks: tierd's user + system CPU time so far, in clock ticks.
tierd_cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$TIERD_PID/stat"; }
# tierd_rss_kib: tierd's peak resident set (VmHWM), KiB.
tierd_rss_kib() { awk '$1 == "VmHWM:" { print $2 }' "/proc/$TIERD_PID/status"; }

# ------------------------------------------------------------ traces

# bench_cat_trace FILE: the trace decompressed (by its name's suffix).
bench_cat_trace() {
	case $1 in
	*.xz) xz -dc "$1" ;;
	*.bz2) bzip2 -dc "$1" ;;
	*.gz) gzip -dc "$1" ;;
	*) cat "$1" ;;
	esac
}

# bench_trace_split FILE RECORDS OUT [SKIP]: RECORDS records of FILE (or
# all it has) after the first SKIP, split in two halves, OUT.warm and
# OUT.measure, each a trace of the same format (a CSV header line, as
# CloudPhysics', is kept in both).  Prints the records of each half
# ("<warm> <measure>").
bench_trace_split() {
	local file=$1 n=$2 out=$3 skip=${4:-0}
	bench_cat_trace "$file" | awk -v n="$n" -v out="$out" -v skip="$skip" '
	NR == 1 && /^[A-Za-z]/ { hdr = $0; next }
	skip > 0 { skip--; next }
	{ if (c < n) rec[c++] = $0; else exit }
	END {
		h = int(c / 2)
		if (hdr != "") { print hdr > (out ".warm"); print hdr > (out ".measure") }
		for (i = 0; i < h; i++) print rec[i] > (out ".warm")
		for (i = h; i < c; i++) print rec[i] > (out ".measure")
		print h, c - h
	}'
}
