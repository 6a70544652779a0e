#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 300
# tierctl: pool and volume lifecycle through libdevmapper, settings,
# placement commands, --json output, and the error paths (missing device,
# blank or formatted metadata, wrong order, unknown volume, bad sizes).
. "$LAB_PROJECT/tests/lib/lab.sh"
tierctl=$LAB_BUILD/tools/tierctl/tierctl
[ -x "$tierctl" ] || fail "tierctl not built"

dmtier_load
meta=$(lab_tier_ssd tmeta 16)
t0=$(lab_tier_nvme tnvme 64)
t1=$(lab_tier_hdd thdd 128)

"$tierctl" --help | grep -q "volume create" || fail "--help lacks volume create"
fails 2 "usage" "$tierctl" bogus
fails 2 "usage: tierctl pool create" "$tierctl" pool create p1
fails 2 "--metadata DEV is required" "$tierctl" pool create p1 "$t0"
fails 1 "cannot open /dev/nope" "$tierctl" pool create p1 --metadata "$meta" /dev/nope
fails 1 "is blank" "$tierctl" pool activate p1 --metadata "$meta" "$t0" "$t1"
fails 2 "extent-size" "$tierctl" pool create p1 --metadata "$meta" --extent-size 3M "$t0" "$t1"

must "$tierctl" pool create p1 --metadata "$meta" --extent-size 128K "$t0" "$t1"
fails 1 "already holds metadata" "$tierctl" pool create p2 --metadata "$meta" "$t0" "$t1"
must "$tierctl" volume create p1 4 64M --policy performance-optimized --label os=linux --name db
[ -b /dev/mapper/db ] || fail "no /dev/mapper/db"
fails 1 "refused" "$tierctl" volume create p1 4 64M --name db2
dmsetup info db2 >/dev/null 2>&1 && fail "a failed volume create left a device behind"
fails 1 "refused" "$tierctl" volume create p1 5 64M --policy fastest
"$tierctl" --json volume list p1 | python3 -c '
import json, sys
v = json.load(sys.stdin)
assert [x["id"] for x in v] == [4], v
' || fail "volume 5 left behind by a failed create, or bad --json"
dd if=/dev/urandom of=/tmp/d bs=1M count=8 status=none
dd if=/tmp/d of=/dev/mapper/db bs=1M oflag=direct status=none

"$tierctl" --json pool status p1 >/tmp/s.json || fail "pool status --json failed"
python3 - <<'PY' || fail "pool status JSON wrong: $(cat /tmp/s.json)"
import json
s = json.load(open('/tmp/s.json'))
assert s['pool'] == 'p1' and s['mode'] == 'rw' and s['volumes'] == 1
assert s['tiers'][0]['used_extents'] == 64, s['tiers']
PY
"$tierctl" --json volume list p1 >/tmp/v.json || fail "volume list --json failed"
python3 - <<'PY' || fail "volume list JSON wrong: $(cat /tmp/v.json)"
import json
v = json.load(open('/tmp/v.json'))
assert len(v) == 1 and v[0]['id'] == 4 and v[0]['device'] == '/dev/mapper/db'
assert v[0]['tiering_policy'] == 'performance-optimized' and v[0]['os'] == 'linux'
assert v[0]['mapped_extents'] == [64, 0], v[0]
PY

must "$tierctl" migrate p1 4 0 1
must "$tierctl" pin p1 4 1 3 1
fails 1 "refused" "$tierctl" migrate p1 9 0 1
fails 2 "usage" "$tierctl" migrate p1 4 0
sleep 3
dmsetup status db | grep -q " 61 3$" || fail "migrate/pin did not move 3 extents: $(dmsetup status db)"
must "$tierctl" unpin p1 4 0 64
must "$tierctl" volume set p1 4 tiering_enabled 0
must "$tierctl" pool set p1 max_migrations 8
fails 1 "refused" "$tierctl" pool set p1 max_migrations 0

must "$tierctl" volume resize db 96M
[ "$(blockdev --getsize64 /dev/mapper/db)" = $((96 << 20)) ] || fail "resize did not grow db"
fails 1 "shrinking" "$tierctl" volume resize db 32M
cmp -n $((8 << 20)) /tmp/d /dev/mapper/db || fail "data changed across migrate/resize"

fails 1 "volume deactivate" "$tierctl" pool deactivate p1
must "$tierctl" volume deactivate db
must "$tierctl" pool deactivate p1
# Activating with the tiers swapped is refused by the kernel; in order works.
fails 1 "cannot create" "$tierctl" pool activate p1 --metadata "$meta" --extent-size 128K "$t1" "$t0"
dmesg | tail -3 | grep -q "wrong order" || fail "kernel did not name the wrong order"
must "$tierctl" pool activate p1 --metadata "$meta" --extent-size 128K "$t0" "$t1"
must "$tierctl" volume activate p1 4 96M --name db
cmp -n $((8 << 20)) /tmp/d /dev/mapper/db || fail "data lost across deactivate/activate"
"$tierctl" status | grep -q "pool p1: mode rw" || fail "status: $("$tierctl" status)"
must "$tierctl" volume deactivate db
must "$tierctl" volume delete p1 4
must "$tierctl" pool deactivate p1
dmtier_unload
exit 0
