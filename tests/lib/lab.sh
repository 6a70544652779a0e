# SPDX-License-Identifier: GPL-2.0
# Shell library for kernel tests run inside the lab VM.  Source it:
#   . "$LAB_PROJECT/tests/lib/lab.sh"
# Exit codes, after liburing's tests: 0 pass, 1 fail, 77 skip.

: "${LAB_PROJECT:?run inside the lab: tools/lab vm -- ...}"
: "${LAB_BUILD:=$LAB_PROJECT/build}"
DMTIER_KO=$LAB_BUILD/module/dm-tier.ko
LAB_TEST=$(basename "${0%.*}")

fail() { echo "FAIL: $LAB_TEST: $*" >&2; exit 1; }
skip() { echo "SKIP: $LAB_TEST: $*" >&2; exit 77; }
info() { echo "  $LAB_TEST: $*"; }

# Executing a program from the 9p root is slow under TCG: every page of it
# and of its libraries comes over 9p (a dmsetup call costs ~1.5 s, from
# tmpfs ~0.25 s).  So the programs tests run most are copied, with their
# libraries, to tmpfs once per boot and put first in PATH (the libraries
# through LD_LIBRARY_PATH: same files, same versions).  LAB_FAST_BINS=0
# turns this off.
LAB_FAST_BIN=/tmp/lab-bin
lab_fast_bins() {
	local tmp p bins=() libs=()
	[ -e "$LAB_FAST_BIN/.done" ] && return 0
	tmp=$(mktemp -d /tmp/lab-bin.XXXXXX) || return 0
	mkdir -p "$tmp/lib"
	for p in dmsetup dd cmp awk stat blockdev head tail cut grep sed tr sort \
		seq sleep date od blkdiscard md5sum cat wc tee sync mkswap blkid; do
		p=$(command -v "$p") && bins+=("$p")
	done
	# Their libraries (what ldd lists on Debian 12; running ldd on each
	# would cost more than it saves).  A missing one is simply loaded from
	# the root as usual.
	for p in libc.so.6 libm.so.6 libdevmapper.so.1.02.1 libselinux.so.1 \
		libudev.so.1 libpcre2-8.so.0 libblkid.so.1 libuuid.so.1 libacl.so.1; do
		[ -e "/lib/x86_64-linux-gnu/$p" ] && libs+=("/lib/x86_64-linux-gnu/$p")
	done
	cp -L "${bins[@]}" "$tmp/" 2>/dev/null && cp -L "${libs[@]}" "$tmp/lib/" 2>/dev/null &&
		touch "$tmp/.done"
	# First one wins; a loser (or a failed copy) just drops its copy.
	[ -e "$tmp/.done" ] && mv -T "$tmp" "$LAB_FAST_BIN" 2>/dev/null || rm -rf "$tmp"
}
if [ "${LAB_FAST_BINS:-1}" = 1 ] && [ -d /run/lab ]; then
	lab_fast_bins
	if [ -e "$LAB_FAST_BIN/.done" ]; then
		case ":$PATH:" in *":$LAB_FAST_BIN:"*) ;; *) export PATH=$LAB_FAST_BIN:$PATH ;; esac
		case ":${LD_LIBRARY_PATH:-}:" in *":$LAB_FAST_BIN/lib:"*) ;;
		*) export LD_LIBRARY_PATH=$LAB_FAST_BIN/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} ;; esac
	fi
fi

# fails EXIT PATTERN CMD...: CMD (stdin /dev/null) must exit EXIT and say
# PATTERN on stdout or stderr.
fails() {
	local want=$1 pat=$2 out rc
	shift 2
	out=$("$@" 2>&1 </dev/null)
	rc=$?
	[ "$rc" = "$want" ] || fail "'$*' exited $rc, expected $want: $out"
	printf '%s\n' "$out" | grep -q -- "$pat" || fail "'$*' did not say '$pat': $out"
}

# Run a command that must succeed; fail the test with its output otherwise.
must() {
	local out
	out=$("$@" 2>&1) || fail "'$*' failed: $out"
	[ -z "$out" ] || printf '%s\n' "$out"
}

# Run a command that must fail; fail the test if it succeeds.  A non-empty
# second-to-last argument pattern can be given with must_fail_with.
must_fail() {
	if "$@" >/dev/null 2>&1; then
		fail "'$*' succeeded but must fail"
	fi
}

# must_fail_with PATTERN CMD...: CMD must fail and say something matching
# PATTERN (dmsetup shows the target's ti->error through dmesg).
must_fail_with() {
	local pat=$1 out
	shift
	if out=$("$@" 2>&1); then
		fail "'$*' succeeded but must fail"
	fi
	if ! { printf '%s\n' "$out"; dmesg | tail -n 5; } | grep -q -- "$pat"; then
		fail "'$*' failed without saying '$pat': $out"
	fi
}

# ------------------------------------------------------------ the module

dmtier_load() {
	[ -e "$DMTIER_KO" ] || fail "module not built: $DMTIER_KO (tools/lab build)"
	modprobe dm-mod || fail "modprobe dm-mod"
	modprobe libcrc32c || fail "modprobe libcrc32c"
	if ! grep -q '^dm_tier ' /proc/modules; then
		insmod "$DMTIER_KO" || fail "insmod $DMTIER_KO"
	fi
}

dmtier_unload() {
	dmsetup remove_all >/dev/null 2>&1
	if grep -q '^dm_tier ' /proc/modules; then
		rmmod dm_tier || fail "rmmod dm_tier"
	fi
}

# ---------------------------------------------------- emulated tiers

# lab_tier NAME SIZE_MIB COMPLETION_NSEC [MBPS]
# A memory-backed null_blk disk, /dev/NAME, with a fixed completion latency
# (irqmode=2: timer) and an optional bandwidth cap.  Prints the device path.
# LAB_TIER_MEMORY=0 makes a disk that keeps no data (writes are dropped,
# reads return whatever): for measurements that need size, not content.
# LAB_TIER_IRQMODE=0 completes I/O at submission (no latency, no timer):
# for measurements of CPU cost alone.
lab_tier() {
	local name=$1 size=$2 nsec=$3 mbps=${4:-0} d
	[ -d /sys/kernel/config/nullb ] || modprobe null_blk nr_devices=0 ||
		fail "modprobe null_blk"
	d=/sys/kernel/config/nullb/$name
	[ ! -e "$d" ] || fail "tier $name exists already"
	mkdir "$d" || fail "cannot create null_blk $name"
	echo "$size" >"$d/size"
	echo "${LAB_TIER_MEMORY:-1}" >"$d/memory_backed"
	echo "${LAB_TIER_IRQMODE:-2}" >"$d/irqmode"
	echo "$nsec" >"$d/completion_nsec"
	echo 1024 >"$d/hw_queue_depth"
	echo 1 >"$d/discard"
	[ "$mbps" = 0 ] || echo "$mbps" >"$d/mbps"
	echo 1 >"$d/power" || fail "cannot power on null_blk $name"
	local i
	for i in $(seq 50); do
		[ -b "/dev/$name" ] && break
		sleep 0.1
	done
	[ -b "/dev/$name" ] || fail "null_blk $name did not appear as /dev/$name"
	echo "/dev/$name"
}

# Device classes: latencies as the lab's emulated NVMe, SSD and HDD.
lab_tier_nvme() { lab_tier "$1" "$2" 10000 "${3:-0}"; }
lab_tier_ssd() { lab_tier "$1" "$2" 100000 "${3:-0}"; }
lab_tier_hdd() { lab_tier "$1" "$2" 4000000 "${3:-0}"; }

lab_tier_remove() {
	local d=/sys/kernel/config/nullb/$1
	[ -d "$d" ] || return 0
	echo 0 >"$d/power"
	rmdir "$d"
}

lab_tiers_remove_all() {
	local d
	for d in /sys/kernel/config/nullb/*/; do
		[ -d "$d" ] && lab_tier_remove "$(basename "$d")"
	done
}

# Sectors of a block device.
dev_sectors() { blockdev --getsz "$1"; }

# dm_create NAME TABLE: create a device and its /dev/mapper node (no udev).
dm_create() {
	dmsetup create "$1" --table "$2" || return 1
	dmsetup mknodes "$1" >/dev/null 2>&1
	[ -b "/dev/mapper/$1" ] || fail "no /dev/mapper/$1 after create"
}

# fio with verification; extra arguments are fio options.
fio_verify() {
	local dev=$1
	shift
	fio --name=verify --filename="$dev" --direct=1 --ioengine=libaio \
		--verify=crc32c --verify_fatal=1 --do_verify=1 \
		--output-format=terse --terse-version=3 "$@" >/tmp/fio.$BASHPID 2>&1 ||
		{ cat /tmp/fio.$BASHPID; fail "fio verify on $dev failed"; }
	rm -f /tmp/fio.$BASHPID
}

# fio_jobs OPTION...: one fio run, global options first, then any number of
# "--name=JOB --filename=DEV ..." sections (they run in parallel); fails the
# test with fio's output when fio fails (a verify mismatch included).
fio_jobs() {
	fio --direct=1 --ioengine=libaio --verify_state_save=0 \
		--output-format=terse --terse-version=3 "$@" >/tmp/fio.$BASHPID 2>&1 ||
		{ cat /tmp/fio.$BASHPID; fail "fio $* failed"; }
	rm -f /tmp/fio.$BASHPID
}

# ------------------------------------------------ pools and volumes

# dev_majmin DEV: "major:minor", as table lines print devices.
dev_majmin() {
	printf '%d:%d' "0x$(stat -L -c %t "$1")" "0x$(stat -L -c %T "$1")"
}

# pool_table META EXTENT_SECTORS TIER...: a tier-pool table line, its length
# the tiers' total; $POOL_FEATURES (e.g. "2 commit_interval_ms 100") is
# appended when set.
pool_table() {
	local meta=$1 ext=$2 len=0 t
	shift 2
	for t in "$@"; do
		len=$((len + $(dev_sectors "$t")))
	done
	echo "0 $len tier-pool $meta $ext $# $*${POOL_FEATURES:+ $POOL_FEATURES}"
}

# pool_create NAME META EXTENT_SECTORS TIER...: create pool NAME or fail.
pool_create() {
	local name=$1 table
	shift
	table=$(pool_table "$@")
	dm_create "$name" "$table" ||
		fail "cannot create pool $name ($table): $(dmesg | tail -n 3)"
}

# pool_create_std NAME EXTENT_SECTORS NVME_MIB SSD_MIB [HDD_MIB]: the usual
# test pool: an 8 MiB emulated-SSD metadata device (tmeta) and tiers
# tnvme, tssd and thdd (if HDD_MIB is given) of those sizes; sets meta,
# t0, t1 (and t2) to their devices.  POOL_FEATURES applies as for
# pool_create.
pool_create_std() {
	local name=$1 ext=$2
	meta=$(lab_tier_ssd tmeta 8)
	t0=$(lab_tier_nvme tnvme "$3")
	t1=$(lab_tier_ssd tssd "$4")
	if [ -n "${5:-}" ]; then
		t2=$(lab_tier_hdd thdd "$5")
		pool_create "$name" "$meta" "$ext" "$t0" "$t1" "$t2"
	else
		pool_create "$name" "$meta" "$ext" "$t0" "$t1"
	fi
}

# pool_msg POOL WORD...: dmsetup message POOL 0 WORD... (prints the reply).
pool_msg() {
	local pool=$1
	shift
	dmsetup message "$pool" 0 "$@"
}

# vol_activate POOL ID SECTORS [NAME]: activate existing volume ID as
# /dev/mapper/NAME (default POOL-ID), or fail.
vol_activate() {
	local name=${4:-$1-$2}
	dm_create "$name" "0 $3 tier /dev/mapper/$1 $2" ||
		fail "cannot activate volume $2 of $1 as $name: $(dmesg | tail -n 3)"
}

# vol_create POOL ID SECTORS [NAME]: create_volume ID, then vol_activate.
vol_create() {
	pool_msg "$1" create_volume "$2" ||
		fail "create_volume $2 on $1 failed: $(dmesg | tail -n 3)"
	vol_activate "$@"
}

# pool_field POOL FIELD [TIER]: one field of the pool status
#   <nr_tiers> <meta_used>/<meta_total> <used_i>/<total_i>...
#   <nr_volumes> <mode> <needs_check> <space>
#   <policy> <migrations_done> <migrations_failed> <migrations_queued>
#   <migrations_in_flight> <migrations_throttled> <bytes_moved> <evacuation>
# FIELD: nr_tiers meta_used meta_total used total (of TIER) used_sum
# total_sum nr_volumes mode needs_check space policy mig_done mig_failed
# mig_queued mig_in_flight mig_throttled bytes_moved evacuation.
pool_field() {
	dmsetup status "$1" | awk -v k="$2" -v i="${3:-0}" '
	$3 != "tier-pool" { exit 1 }
	{
		n = $4; split($5, m, "/"); su = 0; st = 0
		for (j = 0; j < n; j++) { split($(6 + j), t, "/"); su += t[1]; st += t[2] }
		split($(6 + i), t, "/")
		if (k == "nr_tiers") v = n
		else if (k == "meta_used") v = m[1]
		else if (k == "meta_total") v = m[2]
		else if (k == "used") v = t[1]
		else if (k == "total") v = t[2]
		else if (k == "used_sum") v = su
		else if (k == "total_sum") v = st
		else if (k == "nr_volumes") v = $(6 + n)
		else if (k == "mode") v = $(7 + n)
		else if (k == "needs_check") v = $(8 + n)
		else if (k == "space") v = $(9 + n)
		else if (k == "policy") v = $(10 + n)
		else if (k == "mig_done") v = $(11 + n)
		else if (k == "mig_failed") v = $(12 + n)
		else if (k == "mig_queued") v = $(13 + n)
		else if (k == "mig_in_flight") v = $(14 + n)
		else if (k == "mig_throttled") v = $(15 + n)
		else if (k == "bytes_moved") v = $(16 + n)
		else if (k == "evacuation") v = $(17 + n)
		else exit 1
		if (v == "") exit 1
		print v
	}' || fail "cannot read '$2' from the status of $1: $(dmsetup status "$1" 2>&1)"
}

# vol_mapped VOLDEV TIER: mapped extents of the volume on TIER; TIER "sum"
# for all tiers.  VOLDEV is the dm name.
vol_mapped() {
	dmsetup status "$1" | awk -v i="$2" '
	$3 != "tier" { exit 1 }
	{ if (i == "sum") { s = 0; for (j = 4; j <= NF; j++) s += $j; print s } else print $(4 + i) }' ||
		fail "cannot read the status of volume $1: $(dmsetup status "$1" 2>&1)"
}

# pool_stat POOL KEY: one key=value word of the pool's "stats" message.
pool_stat() {
	pool_msg "$1" stats | tr ' ' '\n' | sed -n "s/^$2=//p" | grep . ||
		fail "no '$2' in the stats of $1: $(pool_msg "$1" stats 2>&1)"
}

# ------------------------------------------------ migration and heat

# $DM_MSG [DELAY_S] <LINES: many messages through one process, with their
# errno and replies (see tests/lib/dm-msg); for loops of hundreds.
DM_MSG=$LAB_PROJECT/tests/lib/dm-msg

# heat_dump POOL ID: every "<extent> <tier> <reads> <writes> <flags>" line
# of dump_heat, following its "more" lines (a reply has a size limit).
heat_dump() {
	local b=0 nr ext pdev out
	ext=$(dmsetup table "$1" | awk '{ print $5 }')
	pdev=$(dev_majmin "/dev/mapper/$1")
	nr=$(dmsetup table | awk -v p="$pdev" -v id="$2" -v e="$ext" '
		$4 == "tier" && $5 == p && $6 == id { print int(($3 + e - 1) / e) }' | head -n1)
	[ -n "$nr" ] || fail "heat_dump: volume $2 of $1 is not active"
	# A reply that fills the message buffer ends with "more <extent>".
	while [ -n "$b" ]; do
		out=$(pool_msg "$1" dump_heat "$2" "$b") ||
			fail "dump_heat $2 $b on $1 failed: $(dmesg | tail -n 3)"
		printf '%s\n' "$out" | grep -v '^more '
		b=$(printf '%s\n' "$out" | awk '$1 == "more" { print $2 }')
	done | grep .
}

# mig_idle POOL [SECONDS]: wait until no migration is queued or copying
# (default 60 s); fail the test otherwise.
mig_idle() {
	local end=$((SECONDS + ${2:-60}))
	while ((SECONDS <= end)); do
		(($(pool_field "$1" mig_queued) == 0 && $(pool_field "$1" mig_in_flight) == 0)) &&
			return 0
		sleep 0.1
	done
	fail "migrations still pending after ${2:-60}s: $(dmsetup status "$1")"
}

# pool_field_is POOL FIELD VALUE: the status field (as pool_field) is VALUE.
pool_field_is() { [ "$(pool_field "$1" "$2")" = "$3" ]; }

# wait_for SECONDS CMD...: poll CMD every 0.2 s until it succeeds; return 1
# when it still fails after SECONDS.  E.g.
#   wait_for 30 pool_field_is pool evacuation evacuated:2:0 || fail ...
wait_for() {
	local end=$((SECONDS + $1))
	shift
	while ((SECONDS < end)); do
		"$@" && return 0
		sleep 0.2
	done
	"$@"
}

# ------------------------------------------------ data patterns

# pat_make TAG BYTES: a random pattern /tmp/pat.TAG of BYTES (multiple of 4K).
pat_make() {
	head -c "$2" /dev/urandom >"/tmp/pat.$1" || fail "cannot make pattern $1"
}

# pat_write DEV OFFSET TAG: write pattern TAG at byte OFFSET, O_DIRECT.
pat_write() {
	dd if="/tmp/pat.$3" of="$1" bs=64k oflag=direct,seek_bytes seek="$2" \
		conv=notrunc status=none 2>/dev/null
}

# pat_check DEV OFFSET TAG: succeed when DEV holds pattern TAG at OFFSET.
pat_check() {
	dd if="$1" bs=64k iflag=direct,skip_bytes,count_bytes skip="$2" \
		count="$(stat -c %s "/tmp/pat.$3")" status=none 2>/dev/null |
		cmp -s - "/tmp/pat.$3"
}

# zero_check DEV OFFSET BYTES: succeed when those bytes all read as zero.
zero_check() {
	dd if="$1" bs=64k iflag=direct,skip_bytes,count_bytes skip="$2" \
		count="$3" status=none 2>/dev/null | cmp -s -n "$3" - /dev/zero
}
