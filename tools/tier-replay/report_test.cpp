// SPDX-License-Identifier: GPL-2.0
#include "tier-replay/report.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace dmtier::replay;

namespace {

Report sample(bool with_writes)
{
	ReplayResult res;
	res.records = 10;
	res.elapsed_ns = 2'000'000'000;
	res.late = 1;
	res.max_lag_ns = 1'500'000;
	res.max_inflight = 3;
	res.read.ios = 6;
	res.read.bytes = 6 * 4096;
	for (std::uint64_t i = 1; i <= 6; ++i)
		res.read.latency.add(i * 10'000);
	if (with_writes) {
		res.write.ios = 4;
		res.write.bytes = 4 * 8192;
		for (int i = 0; i < 4; ++i)
			res.write.latency.add(50'000);
	} else {
		res.write.skipped = 4;
	}
	RunInfo run;
	run.trace_path = "t.csv";
	run.format = "msr";
	run.trace_records = 10;
	run.trace_span_ns = 3'000'000'000;
	run.device_path = "/dev/x";
	run.device_bytes = 1 << 30;
	run.logical_block = 512;
	run.alignment = 4096;
	run.options.allow_writes = with_writes;
	return make_report(run, res);
}

} // namespace

TEST(ReplayReport, Json)
{
	auto j = to_json(sample(false));
	EXPECT_EQ(j["trace"]["format"], "msr");
	EXPECT_EQ(j["trace"]["timestamps"], "trace");
	EXPECT_DOUBLE_EQ(j["trace"]["span_s"].get<double>(), 3.0);
	EXPECT_EQ(j["device"]["bytes"], 1u << 30);
	EXPECT_EQ(j["device"]["alignment"], 4096);
	EXPECT_EQ(j["settings"]["iodepth"], 32);
	EXPECT_EQ(j["settings"]["speed"], 1.0);
	EXPECT_TRUE(j["settings"]["duration_s"].is_null());
	EXPECT_TRUE(j["settings"]["max_records"].is_null());
	EXPECT_EQ(j["records_replayed"], 10);
	EXPECT_EQ(j["stopped_by"], "end");
	EXPECT_DOUBLE_EQ(j["elapsed_s"].get<double>(), 2.0);
	EXPECT_EQ(j["schedule"]["late_ios"], 1);
	EXPECT_DOUBLE_EQ(j["schedule"]["max_lag_us"].get<double>(), 1500.0);
	EXPECT_EQ(j["schedule"]["max_inflight"], 3);
	const auto &r = j["read"];
	EXPECT_EQ(r["ios"], 6);
	EXPECT_EQ(r["bytes"], 6 * 4096);
	EXPECT_DOUBLE_EQ(r["iops"].get<double>(), 3.0);
	EXPECT_DOUBLE_EQ(r["bytes_per_s"].get<double>(), 3.0 * 4096);
	EXPECT_DOUBLE_EQ(r["latency_us"]["mean"].get<double>(), 35.0);
	EXPECT_DOUBLE_EQ(r["latency_us"]["p50"].get<double>(), 30.0);
	EXPECT_DOUBLE_EQ(r["latency_us"]["p90"].get<double>(), 60.0);
	EXPECT_DOUBLE_EQ(r["latency_us"]["p99.9"].get<double>(), 60.0);
	const auto &w = j["write"];
	EXPECT_EQ(w["ios"], 0);
	EXPECT_EQ(w["skipped"], 4);
	EXPECT_TRUE(w["latency_us"]["p50"].is_null());
	EXPECT_TRUE(w["latency_us"]["mean"].is_null());
	EXPECT_EQ(j["io_errors"], 0);
	EXPECT_TRUE(j["first_error"].is_null());
}

TEST(ReplayReport, JsonWithWritesAndNoTiming)
{
	auto rep = sample(true);
	rep.run.options.timing = false;
	rep.run.options.duration_ns = 500'000'000;
	rep.stopped_by_duration = true;
	auto j = to_json(rep);
	EXPECT_TRUE(j["settings"]["speed"].is_null());
	EXPECT_TRUE(j["schedule"]["late_ios"].is_null()); // nothing is late without timing
	EXPECT_TRUE(j["schedule"]["max_lag_us"].is_null());
	EXPECT_EQ(j["schedule"]["max_inflight"], 3);
	EXPECT_DOUBLE_EQ(j["settings"]["duration_s"].get<double>(), 0.5);
	EXPECT_EQ(j["stopped_by"], "duration");
	EXPECT_EQ(j["write"]["ios"], 4);
	EXPECT_DOUBLE_EQ(j["write"]["latency_us"]["p99"].get<double>(), 50.0);
}

TEST(ReplayReport, Text)
{
	auto t = to_text(sample(false));
	EXPECT_NE(t.find("t.csv (msr, 10 records over 3.000 s)"), std::string::npos) << t;
	EXPECT_NE(t.find("writes skipped (no --allow-writes)"), std::string::npos) << t;
	EXPECT_NE(t.find("replayed 10 records in 2.000 s; 1 issued >= 1 ms late, max lag 1500.0 us; at most 3 in flight"),
		  std::string::npos) << t;
	EXPECT_NE(t.find("p99.9"), std::string::npos) << t;
	EXPECT_NE(t.find("read           6       0        0        3.0"), std::string::npos) << t;
	EXPECT_NE(t.find("write          0       0        4"), std::string::npos) << t;
}
