#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 300
# tierctl pin|unpin|migrate --file: ext4 on a dm-tier volume; a file's
# blocks (FIEMAP) become the volume's extents: pin --file pins exactly the
# extents that filefrag shows the file in (checked in the kernel's heat
# dump) and moves them to the tier, unpin --file unpins them, migrate
# --file moves another file's extents.  A file just written (delayed
# allocation) is synced first.  Errors: a file on tmpfs, on a dm device of
# another target, inline data, preallocated unwritten blocks, an empty
# file, bad usage.
. "$LAB_PROJECT/tests/lib/lab.sh"
cp "$LAB_BUILD/tools/tierctl/tierctl" /tmp/tierctl || fail "tierctl not built"
tierctl=/tmp/tierctl
command -v mkfs.ext4 >/dev/null || skip "no mkfs.ext4 in the host root"
command -v filefrag >/dev/null || skip "no filefrag in the host root"
modprobe ext4 2>/dev/null
grep -qw ext4 /proc/filesystems || skip "no ext4 in the lab kernel"

mnt=/tmp/mnt
trap 'umount "$mnt" 2>/dev/null; umount /tmp/mnt2 2>/dev/null' EXIT

dmtier_load
meta=$(lab_tier_ssd tmeta 8)
t0=$(lab_tier_nvme tnvme 16)
t1=$(lab_tier_ssd tssd 64)
K=$((128 * 1024))
# no_fallback: nothing moves but what the test asks for; new data on tier 1.
must "$tierctl" pool create p1 --metadata "$meta" --extent-size 128K --feature no_fallback "$t0" "$t1"
must "$tierctl" volume create p1 1 48M --name fs --policy cost-optimized
mkfs.ext4 -q -F -O inline_data -E lazy_itable_init=0,lazy_journal_init=0 /dev/mapper/fs ||
	fail "mkfs.ext4 on the volume"
mkdir -p "$mnt"
mount -t ext4 /dev/mapper/fs "$mnt" || fail "mount: $(dmesg | tail -n 3)"
[ "$(vol_mapped fs 0)" = 0 ] || fail "data on tier 0 before any pin: $(dmsetup status fs)"

# expected FILE: the volume extents (128 KiB) holding FILE's blocks, per
# filefrag in 1 KiB units (mkfs.ext4 makes 1 KiB blocks on a volume this
# small: a file's blocks need not start on a 4 KiB boundary).
expected() {
	# "   0:        0..     511:      34816..     35327:    512:  ..." (columns may touch)
	filefrag -v -b1024 "$1" | awk -v k=$K '
		/^ *[0-9]+: *[0-9]+\.\. *[0-9]+: *[0-9]+\.\. *[0-9]+:/ {
			gsub(/\.\./, " "); gsub(/:/, " "); $0 = $0
			for (x = int($4 * 1024 / k); x <= int((($5 + 1) * 1024 - 1) / k); x++) e[x] = 1
		}
		END { for (x in e) print x }' | sort -n
}
pinned() { heat_dump p1 1 | awk '$5 ~ /p/ { print $1 }' | sort -n; }
on_tier() { # on_tier TIER EXTENT...: every extent is on TIER
	local t=$1
	shift
	local want=" $* " got
	got=$(heat_dump p1 1 | awk -v t="$t" -v w="$want" 'index(w, " " $1 " ") && $2 == t { n++ } END { print n + 0 }')
	[ "$got" = $# ]
}

# A file of 3 MiB written in two parts, apart: several extents.
head -c $((2 << 20)) /dev/urandom >"$mnt/a"
head -c $((4 << 20)) /dev/urandom >"$mnt/filler"
head -c $((1 << 20)) /dev/urandom >>"$mnt/a"
sync
want=$(expected "$mnt/a")
[ -n "$want" ] || fail "filefrag found no extents: $(filefrag -v "$mnt/a")"
info "file a: extents $(echo $want)"

out=$("$tierctl" pin --file "$mnt/a" 0 2>&1) || fail "pin --file: $out"
info "$out"
[[ $out == *"$mnt/a: $(echo "$want" | wc -l) extents of 128 KiB of volume 1 of p1 (/dev/mapper/fs): "* &&
	$out == *"pinned on tier 0"* ]] || fail "pin --file said: $out; filefrag: $(filefrag -v -b1024 "$mnt/a")"
got=$(pinned)
[ "$got" = "$want" ] || fail "pinned extents differ from the file's: pinned $(echo $got), file $(echo $want)"
mig_idle p1
on_tier 0 $want || fail "the file's extents are not all on tier 0: $(heat_dump p1 1 | awk '$5 ~ /p/')"
echo 3 >/proc/sys/vm/drop_caches
md5sum "$mnt/a" >/dev/null || fail "read a after the move"

out=$("$tierctl" unpin --file "$mnt/a" 2>&1) || fail "unpin --file: $out"
[[ $out == *"unpinned"* ]] || fail "unpin --file said: $out"
[ -z "$(pinned)" ] || fail "still pinned after unpin --file: $(pinned | tr '\n' ' ')"

# migrate --file; a file just written (its blocks still delayed) is synced first.
head -c $((1 << 20)) /dev/urandom >"$mnt/b"
want_b=
out=$("$tierctl" migrate --file "$mnt/b" 0 2>&1) || fail "migrate --file: $out"
info "$out"
want_b=$(expected "$mnt/b")
[[ $out == *"$(echo "$want_b" | wc -l) queued for tier 0"* ]] || fail "migrate --file said: $out (file: $(echo $want_b))"
mig_idle p1
on_tier 0 $want_b || fail "extents of b not on tier 0: want $(echo $want_b); $(heat_dump p1 1 | awk '$2 == 0')"
# A pinned extent is skipped by migrate --file (and said so).
must "$tierctl" pin --file "$mnt/b" 1
mig_idle p1
out=$("$tierctl" migrate --file "$mnt/b" 0 2>&1) || fail "migrate --file of a pinned file: $out"
[[ $out == *"0 queued for tier 0, $(echo "$want_b" | wc -l) pinned (not moved: unpin them first)"* ]] ||
	fail "migrate --file of pinned extents said: $out"
must "$tierctl" unpin --file "$mnt/b"

# Errors.
echo tiny >"$mnt/small"
sync
fails 1 "stored inline" "$tierctl" pin --file "$mnt/small" 0
fallocate -l 1M "$mnt/pre" || fail "fallocate"
fails 1 "preallocated but never written" "$tierctl" pin --file "$mnt/pre" 0
: >"$mnt/empty"
fails 1 "has no data on the device" "$tierctl" pin --file "$mnt/empty" 0
echo x >/tmp/on-tmpfs
fails 1 "not a device-mapper device: --file takes a file on a filesystem mounted from a dm-tier volume" \
	"$tierctl" pin --file /tmp/on-tmpfs 0
lin=$(lab_tier_nvme tlin 16)
dm_create lin "0 $(dev_sectors "$lin") linear $lin 0"
mkfs.ext4 -q -F /dev/mapper/lin || fail "mkfs.ext4 on lin"
mkdir -p /tmp/mnt2
mount -t ext4 /dev/mapper/lin /tmp/mnt2 || fail "mount lin"
head -c 65536 /dev/urandom >/tmp/mnt2/f
fails 1 "is on /dev/mapper/lin, a linear device, not a dm-tier volume" "$tierctl" pin --file /tmp/mnt2/f 0
umount /tmp/mnt2
dmsetup remove lin
fails 1 "cannot open $mnt/none" "$tierctl" pin --file "$mnt/none" 0
fails 1 "is not a regular file" "$tierctl" pin --file "$mnt" 0
fails 2 "usage: tierctl pin --file PATH TIER" "$tierctl" pin --file "$mnt/a"
fails 2 "usage: tierctl unpin --file PATH" "$tierctl" unpin --file "$mnt/a" 0
fails 2 "--file needs a PATH" "$tierctl" pin --file
fails 1 "refused" "$tierctl" pin --file "$mnt/a" 7
"$tierctl" pin --help | grep -q "tierctl pin --file PATH TIER" || fail "pin --help: $("$tierctl" pin --help)"
"$tierctl" migrate --help | grep -q "tierctl migrate --file PATH TIER" || fail "migrate --help"
"$tierctl" unpin --help | grep -q "tierctl unpin --file PATH" || fail "unpin --help"

umount "$mnt" || fail "umount"
must "$tierctl" volume deactivate fs
must "$tierctl" volume delete p1 1
must "$tierctl" pool deactivate p1
dmtier_unload
exit 0
