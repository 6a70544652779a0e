#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 240
# A metadata device that starts failing: the pool turns read-only with
# needs_check instead of crashing; mapped data stays readable; a flush with
# uncommitted allocations reports the failure; after the device is back the
# pool activates read-only until tier_check clears needs_check.
. "$LAB_PROJECT/tests/lib/lab.sh"
tools=$LAB_BUILD/tools/tier-metadata

dmtier_load
raw=$(lab_tier_ssd tmeta 16)
t0=$(lab_tier_nvme tnvme 64)
t1=$(lab_tier_hdd thdd 64)
msz=$(dev_sectors "$raw")
dm_create meta "0 $msz linear $raw 0"
pool_table="0 2048 tier-pool /dev/mapper/meta 256 2 $t0 $t1"
dm_create pool "$pool_table"
must dmsetup message pool 0 create_volume 1
dm_create vol "0 32768 tier /dev/mapper/pool 1"
dd if=/dev/urandom of=/tmp/a bs=1M count=4 status=none
dd if=/tmp/a of=/dev/mapper/vol bs=1M oflag=direct conv=fsync status=none ||
	fail "first writes failed"

# The metadata device fails from now on.
must dmsetup suspend meta
must dmsetup reload meta --table "0 $msz error"
must dmsetup resume meta

# A new extent plus a flush needs a commit, which must fail visibly.
if dd if=/tmp/a of=/dev/mapper/vol bs=1M seek=8 count=1 oflag=direct conv=fsync status=none; then
	fail "a flush claimed success although its allocation could not be committed"
fi
st=$(dmsetup status pool)
echo "$st" | grep -q " ro needs_check " || fail "pool not read-only with needs_check: $st"
# Mapped data stays readable, new allocations fail, messages that change
# metadata are refused.
cmp -n $((4 << 20)) /dev/mapper/vol /tmp/a || fail "mapped data unreadable after the error"
dd if=/tmp/a of=/dev/mapper/vol bs=1M seek=12 count=1 oflag=direct status=none &&
	fail "allocation succeeded on a read-only pool"
must_fail dmsetup message pool 0 create_volume 2

must dmsetup remove vol
dmsetup remove pool || true	# the final commit cannot be written either
dmsetup info pool >/dev/null 2>&1 && fail "pool could not be removed"

# The device is back; the superblock may or may not carry needs_check
# (the error hit before it could be written).  Either way the committed
# state is intact and the data reads back.
must dmsetup suspend meta
must dmsetup reload meta --table "0 $msz linear $raw 0"
must dmsetup resume meta
"$tools/tier_check" /dev/mapper/meta || fail "metadata not clean after a failed commit"
dm_create pool "$pool_table"
dm_create vol "0 32768 tier /dev/mapper/pool 1"
cmp -n $((4 << 20)) /dev/mapper/vol /tmp/a || fail "committed data lost"
cmp -n $((1 << 20)) <(dd if=/dev/mapper/vol bs=1M skip=8 count=1 status=none) /dev/zero ||
	fail "the uncommitted extent reads as something other than zeros"
must dmsetup remove vol
must dmsetup remove pool

# needs_check set in the superblock: activation is read-only until cleared.
python3 - /dev/mapper/meta <<'PY'
import struct, sys, zlib
# Set DMT_SB_NEEDS_CHECK in the newest superblock slot and re-checksum it
# (CRC32C, as tier_check computes it).
def crc32c(data):
    crc = 0xffffffff
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xffffffff
with open(sys.argv[1], 'r+b') as f:
    slots = []
    for s in (0, 1):
        f.seek(s * 4096)
        b = bytearray(f.read(4096))
        if b[8:16] == struct.pack('<Q', 0x52454954544d44):
            slots.append((struct.unpack('<Q', b[24:32])[0], s, b))
    gen, s, b = max(slots)
    b[20:24] = struct.pack('<I', struct.unpack('<I', b[20:24])[0] | 1)
    b[0:4] = struct.pack('<I', crc32c(bytes(b[4:])))
    f.seek(s * 4096)
    f.write(b)
PY
dm_create pool "$pool_table"
dmsetup status pool | grep -q " ro needs_check " || fail "needs_check pool not read-only: $(dmsetup status pool)"
must dmsetup remove pool
"$tools/tier_check" --clear-needs-check-flag /dev/mapper/meta || fail "tier_check did not clear the flag"
dm_create pool "$pool_table"
dmsetup status pool | grep -q " rw - " || fail "pool still not rw: $(dmsetup status pool)"
must dmsetup remove pool
must dmsetup remove meta
dmtier_unload
exit 0
