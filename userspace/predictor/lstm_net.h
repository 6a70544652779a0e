// SPDX-License-Identifier: GPL-2.0
// A single-layer LSTM over categorical inputs with a softmax output, trained
// by truncated backpropagation through time and Adam. Pure math: the
// vocabulary and online bookkeeping live in LstmPredictor.
//
// Each step's input is a set of categorical features (delta class, op, size
// bucket, gap bucket); each feature value owns a column of the input weight
// matrix, which is the same as one-hot inputs without the multiplications.
#pragma once

#include <Eigen/Dense>
#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace dmtier::predictor {

struct LstmShape {
	int hidden = 32;
	int classes = 64;                       // output classes (delta vocabulary + other)
	std::array<int, 4> features{64, 3, 8, 8}; // cardinality of each input feature
	int inputs() const { return features[0] + features[1] + features[2] + features[3]; }
	std::size_t parameters() const
	{
		return static_cast<std::size_t>(4 * hidden) * (inputs() + hidden + 1) +
		       static_cast<std::size_t>(classes) * (hidden + 1);
	}
	bool operator==(const LstmShape &) const = default;
};

using StepInput = std::array<int, 4>; // one value per feature

// S is float in production (Eigen vectorises its exp and tanh) and double
// for the numeric gradient check.
template <typename S>
class BasicLstmNet {
public:
	using Scalar = S;
	using Vec = Eigen::Matrix<S, Eigen::Dynamic, 1>;
	using Mat = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>;

	struct State {
		Vec h, c;
	};
	// Activations of one step, kept for backpropagation.
	struct Step {
		StepInput in{};
		Vec h_prev, c_prev, i, f, g, o, c, tanh_c, h, p; // p: softmax output
	};

	explicit BasicLstmNet(LstmShape shape, std::uint64_t seed = 1);

	const LstmShape &shape() const { return shape_; }
	State zero_state() const;
	// One forward step from *s; updates *s and fills *step.
	void forward(const StepInput &in, State *s, Step *step) const;
	// The same step's state only: no output layer, nothing kept (warming
	// a state up over past inputs).
	void advance(const StepInput &in, State *s) const;
	// Cross-entropy loss of steps[t].p against targets[t] (mean over steps),
	// accumulating its gradient into grad (size parameters()).
	double backward(std::span<const Step> steps, std::span<const int> targets, Vec *grad) const;
	// Loss of a sequence from a zero state, with gradient (for checks).
	double sequence_loss(const std::vector<StepInput> &in, const std::vector<int> &targets,
			     Vec *grad) const;

	// Adam update with the given gradient (clipped to a maximum norm).
	void adam_step(const Vec &grad, double lr);
	// Resets output class k and input column col to their initial state
	// (used when a vocabulary slot changes meaning).
	void reset_class(int k, int input_col);

	Vec &params() { return theta_; }
	const Vec &params() const { return theta_; }
	std::size_t memory_bytes() const;

private:
	// Offsets of the parameter blocks inside theta_.
	Eigen::Map<const Mat> wx() const;
	Eigen::Map<const Mat> wh() const;
	Eigen::Map<const Vec> b() const;
	Eigen::Map<const Mat> wy() const;
	Eigen::Map<const Vec> by() const;

	LstmShape shape_;
	std::size_t off_wh_, off_b_, off_wy_, off_by_;
	Vec theta_, m_, v_;
	mutable Vec z_, y_; // forward scratch (an LstmNet is used by one thread)
	// z_ = the four gates' pre-activations of input `in` from state h.
	void preactivate(const StepInput &in, const Vec &h) const;
	std::uint64_t t_ = 0;
	std::uint64_t rng_;
};

extern template class BasicLstmNet<float>;
extern template class BasicLstmNet<double>;
using LstmNet = BasicLstmNet<float>;
using LstmNetF64 = BasicLstmNet<double>;

} // namespace dmtier::predictor
