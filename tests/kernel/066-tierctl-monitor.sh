#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 300
# tierctl heatmap, top and cost: the kernel's heat of a volume rendered for a
# terminal (plain), as JSON, SVG and PNG; top --once / --iterations while
# fio reads; with tierd down heatmap falls back to the kernel and cost says
# tierd is not running and how to start it; with tierd up cost prints its
# report and heatmap uses its heat map.  Errors: unknown pool and volume,
# bad arguments, an unwritable file, a bad tierd.conf.
. "$LAB_PROJECT/tests/lib/lab.sh"
cp "$LAB_BUILD/tools/tierctl/tierctl" /tmp/tierctl || fail "tierctl not built"
tierctl=/tmp/tierctl
TIERD=$LAB_BUILD/userspace/tierd/tierd

sock=$PWD/tierd.sock
cat >/tmp/tierd.conf <<EOF2
[daemon]
socket = "$sock"
state_dir = "$PWD/state"

[[tier]]
name = "fast"
class = "nvme"
cost_per_gb_month = 0.20

[[tier]]
name = "slow"
class = "ssd"
cost_per_gb_month = 0.08
EOF2
TIERD_PID=
trap '[ -n "$TIERD_PID" ] && kill -9 "$TIERD_PID" 2>/dev/null' EXIT

dmtier_load
meta=$(lab_tier_ssd tmeta 8)
t0=$(lab_tier_nvme tnvme 4) # 32 extents
t1=$(lab_tier_ssd tssd 16)  # 128
K=$((128 * 1024))
must "$tierctl" pool create p1 --metadata "$meta" --extent-size 128K --feature no_fallback "$t0" "$t1"
must "$tierctl" volume create p1 1 8M --name v1 --policy balanced # 64 extents, new data on tier 1
pat_make a $((32 * K))
pat_write /dev/mapper/v1 0 a || fail "write v1"
must "$tierctl" pin p1 1 0 2 0
mig_idle p1
# Heat on extents 4..7 (reads), then at once the maps (counts halve each second).
fio_jobs --name=hot --filename=/dev/mapper/v1 --rw=randread --bs=4k --offset=$((4 * K)) --size=$((4 * K)) \
	--time_based=1 --runtime=2
C=(--tierd-config /tmp/tierd.conf)
"$tierctl" "${C[@]}" --json heatmap p1 1 >/tmp/h.json 2>/tmp/h.err || fail "heatmap --json: $(cat /tmp/h.err)"
out=$("$tierctl" "${C[@]}" heatmap p1 1 2>&1) || fail "heatmap: $out"
info "heatmap:"
printf '%s\n' "$out" | sed 's/^/    /'
grep -q "tierd is not running (no answer on $sock); showing the kernel's heat" /tmp/h.err ||
	fail "heatmap without tierd did not say so: $(cat /tmp/h.err)"
python3 - <<'PY' || fail "heatmap JSON wrong: $(head -c 600 /tmp/h.json)"
import json
h = json.load(open('/tmp/h.json'))
assert h['source'] == 'kernel' and h['pool'] == 'p1' and h['volume'] == 1, h
assert h['nr_extents'] == 64 and h['extent_bytes'] == 131072, h
assert h['mapped_per_tier'] == [2, 30], h['mapped_per_tier']
e = {x['extent']: x for x in h['extents']}
assert sorted(e) == list(range(32)), sorted(e)
assert e[0]['pinned'] and e[0]['tier'] == 0 and e[2]['tier'] == 1, (e[0], e[2])
hot = [x for x in range(4, 8) if e[x]['heat'] > 0]
assert hot, [e[x] for x in range(4, 8)]
assert max(e[x]['heat'] for x in range(4, 8)) >= max(e[x]['heat'] for x in range(8, 32)), 'hottest not in 4..7'
PY
[[ $out == *"volume 1 of p1: 64 extents of 128 KiB, 32 mapped (tier 0 (fast): 2, tier 1 (slow): 30)"* ]] ||
	fail "heatmap summary: $out"
# Plain rendering: the row's glyphs, then its tiers (0 0 1... and - for unmapped).
printf '%s\n' "$out" | grep -Eq '^       0 [.:=+*#%@-]{32}  001{30}$' || fail "heatmap grid, row 0: $out"
printf '%s\n' "$out" | grep -Eq '^      32  {32}  -{32}$' || fail "heatmap grid, row 32 (unmapped): $out"
[[ $out == *"2 pinned, 0 migrating"* && $out == *"hottest: extent "[4-7]" (tier 1"* ]] || fail "heatmap legend: $out"

# SVG and PNG.
must "$tierctl" "${C[@]}" heatmap p1 1 --svg /tmp/h.svg --kernel
python3 - <<'PY' || fail "SVG wrong: $(head -c 400 /tmp/h.svg)"
import xml.etree.ElementTree as ET
r = ET.parse('/tmp/h.svg').getroot()
ns = '{http://www.w3.org/2000/svg}'
assert r.tag == ns + 'svg', r.tag
rects = [x.get('class') for x in r.iter(ns + 'rect') if x.get('class')]
assert rects.count('tier0') == 2 and rects.count('tier1') == 30 and rects.count('unmapped') == 32, rects
PY
if command -v gnuplot >/dev/null; then
	must "$tierctl" "${C[@]}" heatmap p1 1 --png /tmp/h.png --kernel
	[ "$(head -c 8 /tmp/h.png | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "not a PNG: $(file /tmp/h.png)"
	cp /tmp/h.png /tmp/h.svg "${LAB_OUT:-/tmp}/logs/" 2>/dev/null
else
	info "no gnuplot: --png not checked"
fi
fails 1 "no volume 9 in pool p1" "$tierctl" heatmap p1 9
fails 1 "no pool nopool" "$tierctl" heatmap nopool 1
fails 2 "usage: tierctl \[--json\] heatmap" "$tierctl" heatmap p1 x
fails 2 "--svg needs a FILE" "$tierctl" heatmap p1 1 --svg
fails 1 "cannot write /nonexistent/h.svg" "$tierctl" heatmap p1 1 --kernel --svg /nonexistent/h.svg
"$tierctl" heatmap --help | grep -q "usage: tierctl \[--json\] heatmap POOL ID" || fail "heatmap --help"

# top while fio reads volume 1.
fio --name=load --filename=/dev/mapper/v1 --direct=1 --ioengine=libaio --rw=randread --bs=4k \
	--size=$((32 * K)) --time_based=1 --runtime=60 >/dev/null 2>&1 &
fio_pid=$!
# fio may start late on a loaded host: wait for its reads to show.
top_reads() {
	out=$("$tierctl" top --once 2>&1) || fail "top --once: $out"
	printf '%s\n' "$out" | grep -Eq '^  1 v1 +[1-9][0-9]* +0 '
}
wait_for 20 top_reads || fail "top: no read IOPS for v1 within 20 s: $out"
info "top --once:"
printf '%s\n' "$out" | sed 's/^/    /'
[[ $out == *"pool p1: rw, policy off, 1 volumes active"* || $out == *"pool p1: rw, policy "*", 1 volumes active"* ]] ||
	fail "top: no pool line: $out"
[[ $out == *"6/94"* ]] || fail "top: tier mix of v1 (2 of 32 on tier 0): $out"
[[ $out == *$'\e'* ]] && fail "top --once wrote escapes to a pipe"
"$tierctl" --json top p1 --iterations 2 --interval 0.5 >/tmp/top.json || fail "top --json --iterations 2"
kill "$fio_pid" 2>/dev/null
wait "$fio_pid" 2>/dev/null
python3 - <<'PY' || fail "top JSON wrong: $(cat /tmp/top.json)"
import json
lines = open('/tmp/top.json').read().splitlines()
assert len(lines) == 2, lines
for l in lines:
    t = json.loads(l)
    p = t['pools'][0]
    assert p['pool'] == 'p1' and len(t['pools']) == 1
    v = p['volumes'][0]
    assert v['id'] == 1 and v['device'] == 'v1' and v['mapped_extents'] == 32, v
    assert v['read_iops'] > 0 and abs(sum(v['tier_mix']) - 1) < 1e-9, v
    assert v['fast_tier_hit_ratio'] is not None, v
PY
fails 1 "no pool nopool is active" "$tierctl" top nopool --once
fails 2 "--iterations takes a positive number" "$tierctl" top --iterations 0

# cost with tierd down, then a bad tierd.conf.
fails 1 "tierd is not running: no answer on $sock" "$tierctl" "${C[@]}" cost p1
fails 1 "systemctl start tierd" "$tierctl" "${C[@]}" cost p1
printf '[daemon]\nsockett = "/x"\n' >/tmp/bad.conf
fails 1 "bad.conf:2: unknown key 'sockett'" "$tierctl" --tierd-config /tmp/bad.conf cost p1
fails 1 "/tmp/none.conf: cannot read" "$tierctl" --tierd-config /tmp/none.conf cost p1
fails 1 "no pool nopool" "$tierctl" "${C[@]}" cost nopool

# tierd up: cost and its heat map.
[ -x "$TIERD" ] || fail "tierd not built"
"$TIERD" --config /tmp/tierd.conf --round-ms 500 >/tmp/tierd.log 2>&1 &
TIERD_PID=$!
# (the pool's policy field stays "off" with no_fallback)
wait_for 30 grep -q "pool p1: controller registered" /tmp/tierd.log || fail "tierd did not start: $(cat /tmp/tierd.log)"
wait_for 20 test -S "$sock" || fail "no API socket: $(cat /tmp/tierd.log)"
sleep 2
out=$("$tierctl" "${C[@]}" cost p1 2>&1) || fail "cost: $out $(tail -n 5 /tmp/tierd.log)"
info "cost:"
printf '%s\n' "$out" | sed 's/^/    /'
[[ $out == *"pool p1: \$"*" per month for mapped data"* ]] || fail "cost: $out"
[[ $out == *"tier 0 fast (nvme) \$0.200/GB-month, tier 1 slow (ssd) \$0.080/GB-month"* ]] || fail "cost prices: $out"
printf '%s\n' "$out" | grep -Eq '^  1 v1 +\$[0-9.]+ +[0-9]+ us +fast [0-9.]+ [KM]iB, slow [0-9.]+ [KM]iB$' || fail "cost row: $out"
"$tierctl" "${C[@]}" --json cost p1 >/tmp/c.json || fail "cost --json"
python3 -c '
import json
c = json.load(open("/tmp/c.json"))
assert c["pool"] == "p1" and c["volumes"][0]["volume"] == 1, c
assert sum(c["volumes"][0]["bytes_per_tier"]) == 32 * 131072, c["volumes"]
assert [t["name"] for t in c["tiers"]] == ["fast", "slow"], c["tiers"]
' || fail "cost JSON: $(cat /tmp/c.json)"
"$tierctl" "${C[@]}" --json heatmap p1 1 >/tmp/h2.json 2>/tmp/h2.err || fail "heatmap with tierd: $(cat /tmp/h2.err)"
python3 -c '
import json
h = json.load(open("/tmp/h2.json"))
assert h["source"] == "tierd" and h["nr_extents"] == 64, h
assert sum(h["mapped_per_tier"]) == 32, h["mapped_per_tier"]
' || fail "heatmap from tierd: $(head -c 400 /tmp/h2.json) $(cat /tmp/h2.err)"
kill -TERM "$TIERD_PID"
wait "$TIERD_PID" || fail "tierd exited $? on SIGTERM"
TIERD_PID=

must "$tierctl" volume deactivate v1
must "$tierctl" volume delete p1 1
must "$tierctl" pool deactivate p1
dmtier_unload
exit 0
