// SPDX-License-Identifier: GPL-2.0
#include "predictor/lstm_net.h"

#include <gtest/gtest.h>

namespace dmtier::predictor {
namespace {

LstmShape small_shape()
{
	LstmShape s;
	s.hidden = 5;
	s.classes = 6;
	s.features = {6, 3, 2, 2};
	return s;
}

TEST(LstmNet, AnalyticGradientMatchesNumeric)
{
	LstmNetF64 net(small_shape(), 42);
	// Larger weights than the default init, so every gate is exercised.
	net.params() *= 8.0;
	std::vector<StepInput> in = {{1, 0, 1, 0}, {3, 2, 0, 1}, {5, 1, 1, 1}, {0, 0, 0, 0},
				     {2, 2, 1, 0}, {4, 1, 0, 1}, {1, 0, 1, 1}};
	std::vector<int> targets = {3, 5, 0, 2, 4, 1, 3};
	LstmNetF64::Vec grad = LstmNetF64::Vec::Zero(net.params().size());
	net.sequence_loss(in, targets, &grad);

	const double eps = 1e-6;
	double worst = 0;
	for (Eigen::Index i = 0; i < net.params().size(); ++i) {
		double saved = net.params()[i];
		net.params()[i] = saved + eps;
		double up = net.sequence_loss(in, targets, nullptr);
		net.params()[i] = saved - eps;
		double down = net.sequence_loss(in, targets, nullptr);
		net.params()[i] = saved;
		double numeric = (up - down) / (2 * eps);
		double denom = std::abs(numeric) + std::abs(grad[i]);
		if (denom > 1e-3) // relative error is meaningless for vanishing entries
			worst = std::max(worst, std::abs(numeric - grad[i]) / denom);
		ASSERT_NEAR(grad[i], numeric, 1e-6 + 1e-4 * std::abs(numeric)) << "parameter " << i;
	}
	EXPECT_LT(worst, 1e-4);
	EXPECT_GT(grad.norm(), 1e-3); // the check is not vacuous
}

TEST(LstmNet, AdamReducesLossOnFixedSequence)
{
	LstmNet net(small_shape(), 3);
	std::vector<StepInput> in;
	std::vector<int> targets;
	for (int t = 0; t < 12; ++t) {
		in.push_back({t % 3, 0, 0, 0});
		targets.push_back((t + 1) % 3);
	}
	double before = net.sequence_loss(in, targets, nullptr);
	LstmNet::Vec grad(net.params().size());
	for (int it = 0; it < 200; ++it) {
		grad.setZero();
		net.sequence_loss(in, targets, &grad);
		net.adam_step(grad, 0.02);
	}
	double after = net.sequence_loss(in, targets, nullptr);
	EXPECT_LT(after, 0.1 * before);
}

TEST(LstmNet, AdvanceReachesForwardsState)
{
	LstmNet net(small_shape(), 11);
	auto a = net.zero_state(), b = net.zero_state();
	LstmNet::Step st;
	const StepInput in[] = {{2, 1, 0, 1}, {5, 0, 1, 0}, {0, 2, 1, 1}, {3, 1, 0, 0}};
	for (const auto &x : in) {
		net.forward(x, &a, &st);
		net.advance(x, &b);
		EXPECT_LT((a.h - b.h).cwiseAbs().maxCoeff(), 1e-6);
		EXPECT_LT((a.c - b.c).cwiseAbs().maxCoeff(), 1e-6);
	}
	EXPECT_GT(a.h.cwiseAbs().maxCoeff(), 0.0); // not trivially equal
}

TEST(LstmNet, OutputIsADistribution)
{
	LstmNet net(small_shape(), 9);
	auto s = net.zero_state();
	LstmNet::Step st;
	net.forward({2, 1, 0, 1}, &s, &st);
	EXPECT_NEAR(st.p.sum(), 1.0, 1e-5);
	EXPECT_GE(st.p.minCoeff(), 0.0);
}

} // namespace
} // namespace dmtier::predictor
