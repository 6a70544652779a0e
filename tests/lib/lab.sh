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
	modprobe dm-bufio 2>/dev/null
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
lab_tier() {
	local name=$1 size=$2 nsec=$3 mbps=${4:-0} d
	[ -d /sys/kernel/config/nullb ] || modprobe null_blk nr_devices=0 ||
		fail "modprobe null_blk"
	d=/sys/kernel/config/nullb/$name
	[ ! -e "$d" ] || fail "tier $name exists already"
	mkdir "$d" || fail "cannot create null_blk $name"
	echo "$size" >"$d/size"
	echo 1 >"$d/memory_backed"
	echo 2 >"$d/irqmode"
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
		--output-format=terse --terse-version=3 "$@" >/tmp/fio.$$ 2>&1 ||
		{ cat /tmp/fio.$$; fail "fio verify on $dev failed"; }
	rm -f /tmp/fio.$$
}
