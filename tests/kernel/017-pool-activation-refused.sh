#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 180
# Activating a formatted pool with the wrong devices is refused with an
# error and leaves nothing behind: tiers in the wrong order, a tier of
# another pool, a missing tier, the wrong extent size, a corrupted
# superblock (both slots) or an unsupported version.  One corrupted
# superblock slot is survivable (the other wins).  After all that the
# right table still activates and the data is intact.
. "$LAB_PROJECT/tests/lib/lab.sh"
# Issue-3 behaviour only: no background migration moving extents around.
POOL_FEATURES="1 no_fallback"

dmtier_load
m1=$(lab_tier_ssd tmeta1 4)
m2=$(lab_tier_ssd tmeta2 4)
a=$(lab_tier_nvme ta 8)
b=$(lab_tier_hdd tb 8)
c=$(lab_tier_hdd tc 8)
MiB=$((1024 * 1024))

pool_create p1 "$m1" 2048 "$a" "$b"
vol_create p1 1 $((4 * 2048))
pat_make d $((4 * MiB))
pat_write /dev/mapper/p1-1 0 d || fail "write"
pool_create p2 "$m2" 2048 "$c"
must dmsetup remove p1-1
must dmsetup remove p1
must dmsetup remove p2

refused() { # WHY TABLE
	local why=$1 out
	if out=$(dmsetup create bad --table "$2" 2>&1); then
		fail "$why: activation succeeded but must be refused"
	fi
	dmsetup info bad >/dev/null 2>&1 && fail "$why: device left behind"
	info "$why: refused: $(dmesg | tail -n 1 | sed 's/^\[[^]]*\] //')"
}

refused "wrong order" "$(pool_table "$m1" 2048 "$b" "$a")"
refused "missing tier" "$(pool_table "$m1" 2048 "$a")"
refused "missing tier 0" "$(pool_table "$m1" 2048 "$b")"
refused "another pool's tier" "$(pool_table "$m1" 2048 "$a" "$c")"
refused "another pool's tier (first)" "$(pool_table "$m1" 2048 "$c" "$b")"
refused "tiers of another pool's metadata" "$(pool_table "$m2" 2048 "$a")"
refused "wrong extent size" "$(pool_table "$m1" 4096 "$a" "$b")"
refused "wrong extent size (smaller)" "$(pool_table "$m1" 1024 "$a" "$b")"

# Superblock damage: keep a copy of the metadata to restore between cases.
blockdev --flushbufs "$m1"
dd if="$m1" of=/tmp/meta.img bs=1M iflag=direct status=none || fail "save metadata"
restore() { dd if=/tmp/meta.img of="$m1" bs=1M oflag=direct status=none || fail "restore metadata"; }
# poke OFFSET: flip one byte of the metadata device.
poke() {
	local off=$1 v
	v=$(dd if="$m1" bs=1 skip="$off" count=1 status=none | od -An -tu1 | tr -d ' ')
	printf "\\$(printf %03o $(((v ^ 0x5a) & 255)))" |
		dd of="$m1" bs=1 seek="$off" conv=notrunc status=none || fail "poke $off"
	sync
}
flush_cache() { blockdev --flushbufs "$m1"; }

poke 200
poke $((4096 + 200))
flush_cache
refused "both superblock slots corrupt" "$(pool_table "$m1" 2048 "$a" "$b")"
restore

# sb_rewrite OFFSET:FORMAT:VALUE...: set superblock fields (struct offsets,
# python struct formats) in both slots and recompute the documented CRC32C.
sb_rewrite() {
	python3 - "$m1" "$@" <<'PY' || fail "rewriting the superblock: $*"
import struct, sys
def crc32c(data, crc=0xffffffff):
    tab = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82f63b78 if c & 1 else c >> 1
        tab.append(c)
    for x in data:
        crc = tab[(crc ^ x) & 0xff] ^ (crc >> 8)
    return crc ^ 0xffffffff
with open(sys.argv[1], "r+b") as f:
    for slot in (0, 1):
        f.seek(slot * 4096)
        blk = bytearray(f.read(4096))
        if not any(blk):
            continue
        if struct.unpack_from("<I", blk, 0)[0] != crc32c(bytes(blk[4:])):
            sys.exit("slot %d: checksum does not match the documented CRC32C" % slot)
        for spec in sys.argv[2:]:
            off, fmt, val = spec.split(":")
            if val.startswith("@"):     # @OFF: the value of that field
                val = struct.unpack_from("<" + fmt, blk, int(val[1:]))[0]
            struct.pack_into("<" + fmt, blk, int(off), int(val))
        struct.pack_into("<I", blk, 0, crc32c(bytes(blk[4:])))
        f.seek(slot * 4096)
        f.write(blk)
PY
	flush_cache
}
# Tier records start at 96, 48 bytes each: nr_extents +16, area_start +24,
# area_blocks +32.

# A valid checksum over an unknown version is refused too.
sb_rewrite 16:I:99
refused "unsupported version" "$(pool_table "$m1" 2048 "$a" "$b")"
restore

# Layouts that do not add up, under valid checksums: tier 0 claiming 2^53+1
# extents (which times the extent size wraps to a small device), tier 1's
# reverse map over tier 0's, the volume area over the superblocks.
sb_rewrite 112:Q:$(((1 << 53) + 1))
refused "tier with 2^53+1 extents" "$(pool_table "$m1" 2048 "$a" "$b")"
restore
sb_rewrite 168:Q:@120
refused "tier areas overlapping" "$(pool_table "$m1" 2048 "$a" "$b")"
restore
sb_rewrite 64:Q:0
refused "volume area over the superblocks" "$(pool_table "$m1" 2048 "$a" "$b")"
restore

# One slot damaged (either one): the other wins, the pool activates.
for slot in 0 1; do
	poke $((slot * 4096 + 200))
	flush_cache
	dm_create p1 "$(pool_table "$m1" 2048 "$a" "$b")" ||
		fail "superblock slot $slot corrupt: the other slot should win: $(dmesg | tail -n 2)"
	[ "$(pool_field p1 mode)" = rw ] || fail "mode $(pool_field p1 mode) with one slot corrupt"
	must dmsetup remove p1
	restore
done

# The refused attempts changed nothing: the right table works, data intact.
pool_create p1 "$m1" 2048 "$a" "$b"
[ "$(pool_field p1 mode)" = rw ] || fail "mode $(pool_field p1 mode)"
vol_activate p1 1 $((4 * 2048))
pat_check /dev/mapper/p1-1 0 d || fail "data lost"
pool_create p2 "$m2" 2048 "$c"
[ "$(pool_msg p2 list_volumes)" = "" ] || fail "pool 2 has volumes: $(pool_msg p2 list_volumes)"

must dmsetup remove p1-1
must dmsetup remove p1
must dmsetup remove p2
dmtier_unload
exit 0
