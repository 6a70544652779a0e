// SPDX-License-Identifier: GPL-2.0
#include "predictor/model_file.h"

#include <gtest/gtest.h>

namespace dmtier::predictor {
namespace {

TEST(ModelFile, RoundTrip)
{
	PayloadWriter w;
	w.u32(7);
	w.u64(1ull << 40);
	w.f64(-2.5);
	ModelFile m{"lstm", w.take()};
	auto bytes = encode_model_file(m);
	auto back = decode_model_file({bytes.data(), bytes.size()});
	ASSERT_TRUE(back.ok()) << back.error();
	EXPECT_EQ(back->kind, "lstm");
	PayloadReader r(back->payload);
	std::uint32_t a;
	std::uint64_t b;
	double c;
	ASSERT_TRUE(r.u32(&a) && r.u64(&b) && r.f64(&c));
	EXPECT_EQ(a, 7u);
	EXPECT_EQ(b, 1ull << 40);
	EXPECT_EQ(c, -2.5);
	EXPECT_TRUE(r.at_end());
	EXPECT_FALSE(r.u32(&a));
}

TEST(ModelFile, RejectsFutureVersionAndTrailingBytes)
{
	auto bytes = encode_model_file({"lstm", {'x'}});
	auto future = bytes;
	future[8] = 2;
	auto r = decode_model_file({future.data(), future.size()});
	ASSERT_FALSE(r.ok());
	EXPECT_NE(r.error().find("version 2"), std::string::npos) << r.error();
	auto longer = bytes;
	longer.push_back(0);
	EXPECT_FALSE(decode_model_file({longer.data(), longer.size()}).ok());
	EXPECT_FALSE(decode_model_file("").ok());
}

} // namespace
} // namespace dmtier::predictor
