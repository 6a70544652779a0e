#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 120
# tier-replay on a dm-tier volume: the MSR hm_0 sample from ../shared/traces
# (1,000 records, 127 s of trace) at 25x, writes allowed, must report every
# record as a completed read or write, with positive, ordered latency
# percentiles, no errors, and a run no shorter than the trace at that
# speed; its writes must have mapped extents.  Then a read-only replay of
# the Tencent CBS sample (bzip2; its first 2,000 records, as fast as iodepth
# 8 allows) must skip and count its writes and map nothing new.  Without
# ../shared/traces (or $DMTIER_TRACES), synthetic traces of the same formats
# stand in.
. "$LAB_PROJECT/tests/lib/lab.sh"
replay=$LAB_BUILD/tools/tier-replay/tier-replay
[ -x "$replay" ] || fail "tier-replay not built: $replay"
traces=${DMTIER_TRACES:-$LAB_PROJECT/../shared/traces}
if [ -d "$traces" ]; then
	msr=$traces/msr-hm_0-sample.csv
	tencent=$traces/tencent-cbs-sample.csv.bz2
	notrace=$traces/README.md
	[ -r "$msr" ] && [ -r "$tencent" ] || fail "trace samples missing in $traces"
else
	# A clone without the shared samples (CI): synthetic traces in the same
	# formats and of the same shape (1,000 MSR records over 127.2 s, a
	# third of them writes; Tencent records, every fourth a write).
	info "no $traces: synthetic MSR and Tencent traces"
	msr=$PWD/msr-synthetic.csv tencent=$PWD/tencent-synthetic.csv.bz2 notrace=$PWD/notes.txt
	awk 'BEGIN { srand(7); t = 128166385295514663
		for (i = 0; i < 1000; i++) {
			printf "%.0f,hm,0,%s,%d,%d,%d\n", t + int(i * 1272000000 / 999),
				i % 3 ? "Read" : "Write", int(rand() * 23000) * 4096, (1 + int(rand() * 4)) * 4096, 2000
		} }' >"$msr"
	awk 'BEGIN { srand(8)
		for (i = 0; i < 3000; i++)
			printf "%d,%d,%d,%d,%d\n", 1538323199 + (i > 1500), int(rand() * 180000) * 8,
				8 * (1 + int(rand() * 16)), i % 4 == 0, 1000 + i % 7
		}' | bzip2 >"$tencent" || fail "cannot write $tencent"
	printf 'These are notes, not a block trace.\n' >"$notrace"
fi

dmtier_load
pool_create_std pool 2048 32 64 128
vol_create pool 1 $((96 * 2048)) # 96 MiB
vol=/dev/mapper/pool-1

# check_report JSON EXPECT_RECORDS WRITES_ISSUED MIN_ELAPSED_S: sanity of a report.
check_report() {
	python3 - "$@" <<'PY'
import json, sys
path, want, writes, min_elapsed = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", float(sys.argv[4])
j = json.load(open(path))
r, w = j["read"], j["write"]
def bad(msg):
    sys.exit("%s: %s" % (msg, json.dumps(j)))
if j["trace"]["records"] != want or j["records_replayed"] != want:
    bad("records: trace %d, replayed %d, want %d" % (j["trace"]["records"], j["records_replayed"], want))
if r["ios"] + w["ios"] + w["skipped"] != want:
    bad("reads %d + writes %d + skipped %d != %d" % (r["ios"], w["ios"], w["skipped"], want))
if j["io_errors"] or r["errors"] or w["errors"] or j["first_error"] is not None:
    bad("I/O errors")
if j["stopped_by"] != "end":
    bad("stopped early")
if r["ios"] == 0:
    bad("no reads")
if writes and (w["ios"] == 0 or w["skipped"] != 0):
    bad("writes allowed but %d issued, %d skipped" % (w["ios"], w["skipped"]))
if not writes and (w["ios"] != 0 or w["skipped"] == 0):
    bad("writes not allowed but %d issued, %d skipped" % (w["ios"], w["skipped"]))
for name, d in (("read", r), ("write", w)):
    if d["ios"] == 0:
        continue
    l = d["latency_us"]
    seq = [l["min"], l["p50"], l["p90"], l["p99"], l["p99.9"], l["max"]]
    if not all(x is not None and x > 0 for x in seq + [l["mean"]]):
        bad("%s latencies not all > 0" % name)
    if seq != sorted(seq) or not l["min"] <= l["mean"] <= l["max"]:
        bad("%s latencies out of order" % name)
    if d["bytes"] < 4096 * d["ios"] or d["iops"] <= 0 or d["bytes_per_s"] <= 0:
        bad("%s bytes or rates wrong" % name)
if j["elapsed_s"] < min_elapsed:
    bad("replay took %.2f s, the trace at this speed %.2f s" % (j["elapsed_s"], min_elapsed))
if j["schedule"]["max_inflight"] > j["settings"]["iodepth"]:
    bad("more in flight than iodepth")
print("%d reads (p50 %.0f us, p99 %.0f us), %d writes (p50 %s us), %d skipped, %.2f s" % (
    r["ios"], r["latency_us"]["p50"], r["latency_us"]["p99"], w["ios"],
    "%.0f" % w["latency_us"]["p50"] if w["ios"] else "-", w["skipped"], j["elapsed_s"]))
PY
}

# 1. Timed, with writes: 127.2 s of trace at 25x is at least 5.0 s.
"$replay" --json --speed 25 --iodepth 16 --allow-writes "$msr" "$vol" >msr.json 2>msr.err ||
	fail "tier-replay on $vol failed: $(cat msr.err)"
out=$(check_report msr.json 1000 1 5.0) || fail "MSR report: $out"
info "msr x25: $out"
mapped=$(vol_mapped pool-1 sum)
((mapped > 0)) || fail "the replay's writes mapped no extent"
info "extents mapped by the writes: $mapped"

# 2. Read-only, as fast as possible: writes skipped, nothing new mapped.
"$replay" --json --no-timing --iodepth 8 --max-records 2000 "$tencent" "$vol" >tc.json 2>tc.err ||
	fail "read-only tier-replay on $vol failed: $(cat tc.err)"
out=$(check_report tc.json 2000 0 0) || fail "Tencent report: $out"
info "tencent read-only: $out"
(($(vol_mapped pool-1 sum) == mapped)) ||
	fail "a read-only replay changed the mapping: $mapped -> $(vol_mapped pool-1 sum) extents"

# 3. Bad input exits 2: a device that is not there, a trace that is not one.
"$replay" "$msr" /dev/mapper/nonexistent >/dev/null 2>err; rc=$?
((rc == 2)) || fail "missing device: exit $rc, want 2: $(cat err)"
"$replay" "$notrace" "$vol" >/dev/null 2>err; rc=$?
((rc == 2)) || fail "not a trace: exit $rc, want 2: $(cat err)"

must dmsetup remove pool-1
must dmsetup remove pool
dmtier_unload
exit 0
