// SPDX-License-Identifier: GPL-2.0
#include "predictor/lstm_net.h"

#include <cmath>

namespace dmtier::predictor {

namespace {

constexpr double kInitScale = 0.1;
constexpr double kClipNorm = 5.0;
constexpr double kBeta1 = 0.9, kBeta2 = 0.999, kEps = 1e-8;

double uniform(std::uint64_t *s)
{
	// splitmix64
	std::uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return static_cast<double>(z >> 11) * (1.0 / 9007199254740992.0) * 2.0 - 1.0;
}

} // namespace

template <typename S>
BasicLstmNet<S>::BasicLstmNet(LstmShape shape, std::uint64_t seed) : shape_(shape), rng_(seed)
{
	const std::size_t G = 4 * shape_.hidden;
	off_wh_ = G * shape_.inputs();
	off_b_ = off_wh_ + G * shape_.hidden;
	off_wy_ = off_b_ + G;
	off_by_ = off_wy_ + static_cast<std::size_t>(shape_.classes) * shape_.hidden;
	theta_.resize(shape_.parameters());
	for (Eigen::Index i = 0; i < theta_.size(); ++i)
		theta_[i] = static_cast<S>(kInitScale * uniform(&rng_));
	// Zero biases, forget gate bias 1 (remember by default).
	theta_.segment(off_b_, G).setZero();
	theta_.segment(off_b_ + shape_.hidden, shape_.hidden).setConstant(S(1));
	theta_.segment(off_by_, shape_.classes).setZero();
	// Adam moments are allocated by the first update: inference-only
	// copies of a model do not pay for them.
}

template <typename S>
Eigen::Map<const typename BasicLstmNet<S>::Mat> BasicLstmNet<S>::wx() const
{
	return {theta_.data(), 4 * shape_.hidden, shape_.inputs()};
}
template <typename S>
Eigen::Map<const typename BasicLstmNet<S>::Mat> BasicLstmNet<S>::wh() const
{
	return {theta_.data() + off_wh_, 4 * shape_.hidden, shape_.hidden};
}
template <typename S>
Eigen::Map<const typename BasicLstmNet<S>::Vec> BasicLstmNet<S>::b() const
{
	return {theta_.data() + off_b_, 4 * shape_.hidden};
}
template <typename S>
Eigen::Map<const typename BasicLstmNet<S>::Mat> BasicLstmNet<S>::wy() const
{
	return {theta_.data() + off_wy_, shape_.classes, shape_.hidden};
}
template <typename S>
Eigen::Map<const typename BasicLstmNet<S>::Vec> BasicLstmNet<S>::by() const
{
	return {theta_.data() + off_by_, shape_.classes};
}

template <typename S>
typename BasicLstmNet<S>::State BasicLstmNet<S>::zero_state() const
{
	return {Vec::Zero(shape_.hidden), Vec::Zero(shape_.hidden)};
}

template <typename S>
void BasicLstmNet<S>::preactivate(const StepInput &in, const Vec &h) const
{
	Vec &z = z_;
	z.noalias() = wh() * h;
	z += b();
	int col = 0;
	for (int k = 0; k < 4; ++k) {
		z += wx().col(col + in[k]);
		col += shape_.features[k];
	}
}

template <typename S>
void BasicLstmNet<S>::forward(const StepInput &in, State *s, Step *st) const
{
	const int H = shape_.hidden;
	st->in = in;
	st->h_prev = s->h;
	st->c_prev = s->c;
	preactivate(in, s->h);
	const Vec &z = z_;
	st->i = (S(1) / (S(1) + (-z.segment(0, H).array()).exp())).matrix();
	st->f = (S(1) / (S(1) + (-z.segment(H, H).array()).exp())).matrix();
	st->g = z.segment(2 * H, H).array().tanh().matrix();
	st->o = (S(1) / (S(1) + (-z.segment(3 * H, H).array()).exp())).matrix();
	st->c = st->f.cwiseProduct(s->c) + st->i.cwiseProduct(st->g);
	st->tanh_c = st->c.array().tanh().matrix();
	st->h = st->o.cwiseProduct(st->tanh_c);
	Vec &y = y_;
	y.noalias() = wy() * st->h;
	y += by();
	S mx = y.maxCoeff();
	st->p = (y.array() - mx).exp().matrix();
	st->p /= st->p.sum();
	s->h = st->h;
	s->c = st->c;
}

template <typename S>
void BasicLstmNet<S>::advance(const StepInput &in, State *s) const
{
	const int H = shape_.hidden;
	preactivate(in, s->h);
	const Vec &z = z_;
	auto i = S(1) / (S(1) + (-z.segment(0, H).array()).exp());
	auto f = S(1) / (S(1) + (-z.segment(H, H).array()).exp());
	auto g = z.segment(2 * H, H).array().tanh();
	auto o = S(1) / (S(1) + (-z.segment(3 * H, H).array()).exp());
	s->c = (f * s->c.array() + i * g).matrix();
	s->h = (o * s->c.array().tanh()).matrix();
}

template <typename S>
double BasicLstmNet<S>::backward(std::span<const Step> steps, std::span<const int> targets, Vec *grad) const
{
	const int H = shape_.hidden;
	const int G = 4 * H;
	const S scale = S(1) / static_cast<S>(steps.size());
	Eigen::Map<Mat> gwx(grad->data(), G, shape_.inputs());
	Eigen::Map<Mat> gwh(grad->data() + off_wh_, G, H);
	Eigen::Map<Vec> gb(grad->data() + off_b_, G);
	Eigen::Map<Mat> gwy(grad->data() + off_wy_, shape_.classes, H);
	Eigen::Map<Vec> gby(grad->data() + off_by_, shape_.classes);

	double loss = 0;
	Vec dh_next = Vec::Zero(H), dc_next = Vec::Zero(H), dz(G);
	for (std::size_t t = steps.size(); t-- > 0;) {
		const Step &s = steps[t];
		loss -= std::log(std::max(static_cast<double>(s.p[targets[t]]), 1e-300));
		Vec dy = s.p * scale;
		dy[targets[t]] -= scale;
		gwy.noalias() += dy * s.h.transpose();
		gby += dy;
		Vec dh = wy().transpose() * dy + dh_next;
		Vec dout = dh.cwiseProduct(s.tanh_c);
		Vec dc = dh.cwiseProduct(s.o).cwiseProduct((S(1) - s.tanh_c.array().square()).matrix()) +
			 dc_next;
		dz.segment(0, H) = dc.cwiseProduct(s.g).cwiseProduct(
			(s.i.array() * (S(1) - s.i.array())).matrix());
		dz.segment(H, H) = dc.cwiseProduct(s.c_prev).cwiseProduct(
			(s.f.array() * (S(1) - s.f.array())).matrix());
		dz.segment(2 * H, H) =
			dc.cwiseProduct(s.i).cwiseProduct((S(1) - s.g.array().square()).matrix());
		dz.segment(3 * H, H) =
			dout.cwiseProduct((s.o.array() * (S(1) - s.o.array())).matrix());
		dc_next = dc.cwiseProduct(s.f);
		gb += dz;
		int col = 0;
		for (int k = 0; k < 4; ++k) {
			gwx.col(col + s.in[k]) += dz;
			col += shape_.features[k];
		}
		gwh.noalias() += dz * s.h_prev.transpose();
		dh_next.noalias() = wh().transpose() * dz;
	}
	return loss * scale;
}

template <typename S>
double BasicLstmNet<S>::sequence_loss(const std::vector<StepInput> &in, const std::vector<int> &targets,
			      Vec *grad) const
{
	State s = zero_state();
	std::vector<Step> steps(in.size());
	for (std::size_t t = 0; t < in.size(); ++t)
		forward(in[t], &s, &steps[t]);
	Vec scratch;
	if (!grad) {
		scratch = Vec::Zero(theta_.size());
		grad = &scratch;
	}
	return backward(steps, targets, grad);
}

template <typename S>
void BasicLstmNet<S>::adam_step(const Vec &grad, double lr)
{
	if (m_.size() != theta_.size()) {
		m_ = Vec::Zero(theta_.size());
		v_ = Vec::Zero(theta_.size());
	}
	const double norm = static_cast<double>(grad.norm());
	const S clip = static_cast<S>(norm > kClipNorm ? kClipNorm / norm : 1.0);
	++t_;
	const S b1 = S(kBeta1), b2 = S(kBeta2);
	const S c1 = static_cast<S>(1 - std::pow(kBeta1, static_cast<double>(t_)));
	const S c2 = static_cast<S>(1 - std::pow(kBeta2, static_cast<double>(t_)));
	const S step = static_cast<S>(lr) / c1, eps = S(kEps), inv_c2 = S(1) / c2;
	// One fused pass over the parameters.
	S *th = theta_.data(), *m = m_.data(), *v = v_.data();
	const S *g = grad.data();
	for (Eigen::Index k = 0; k < theta_.size(); ++k) {
		S gk = clip * g[k];
		m[k] = b1 * m[k] + (S(1) - b1) * gk;
		v[k] = b2 * v[k] + (S(1) - b2) * gk * gk;
		th[k] -= step * m[k] / (std::sqrt(v[k] * inv_c2) + eps);
	}
}

template <typename S>
void BasicLstmNet<S>::reset_class(int k, int input_col)
{
	const int H = shape_.hidden;
	for (int j = 0; j < H; ++j) {
		std::size_t idx = off_wy_ + static_cast<std::size_t>(j) * shape_.classes + k;
		theta_[idx] = static_cast<S>(kInitScale * uniform(&rng_));
		if (m_.size())
			m_[idx] = v_[idx] = 0;
	}
	theta_[off_by_ + k] = 0;
	if (m_.size())
		m_[off_by_ + k] = v_[off_by_ + k] = 0;
	for (int r = 0; r < 4 * H; ++r) {
		std::size_t idx = static_cast<std::size_t>(input_col) * 4 * H + r;
		theta_[idx] = static_cast<S>(kInitScale * uniform(&rng_));
		if (m_.size())
			m_[idx] = v_[idx] = 0;
	}
}

template <typename S>
std::size_t BasicLstmNet<S>::memory_bytes() const
{
	return sizeof(*this) + (theta_.size() + m_.size() + v_.size() + z_.size() + y_.size()) * sizeof(S);
}

template class BasicLstmNet<float>;
template class BasicLstmNet<double>;

} // namespace dmtier::predictor
