// SPDX-License-Identifier: GPL-2.0
#include "planner/planner.h"

#include <algorithm>
#include <cmath>
#include <unistd.h>

#include "predictor/classifier.h"
#include "predictor/lstm.h"
#include "predictor/trainer.h"
#include "predictor/selector.h"

namespace dmtier::planner {

namespace {

double decay(double v, double from_ms, double now_ms, double half_life_ms)
{
	if (v == 0 || now_ms <= from_ms || half_life_ms <= 0)
		return v;
	return v * std::exp2(-(now_ms - from_ms) / half_life_ms);
}

bool entry_before(const PrefetchEntry &a, const PrefetchEntry &b)
{
	if (a.expected_ms != b.expected_ms)
		return a.expected_ms < b.expected_ms;
	return a.probability > b.probability;
}

} // namespace

double VolumeState::score(const ExtentState &e, double now_ms, double hl, double w) const
{
	return decay(e.heat, e.heat_ms, now_ms, hl) + w * decay(e.pred, e.heat_ms, now_ms, hl);
}

std::string VolumeState::predictor_name() const
{
	if (!predictor)
		return "none";
	if (auto *s = dynamic_cast<const predictor::ModelSelector *>(predictor.get()))
		return "auto:" + std::string(s->active());
	return std::string(predictor->name());
}

PoolPlanner::PoolPlanner(std::string pool, PlannerConfig cfg) : pool_(std::move(pool)), cfg_(std::move(cfg))
{
	info_.pool = pool_;
}

void PoolPlanner::set_config(const PlannerConfig &c)
{
	cfg_ = c;
	if (own_budget_)
		own_budget_->set_share(c.lstm_cpu_budget);
}

void PoolPlanner::update_pool(const PoolInfo &info)
{
	info_ = info;
	info_.pool = pool_;
}

VolumeState &PoolPlanner::vol(std::uint32_t id)
{
	auto [it, fresh] = vols_.try_emplace(id);
	if (fresh) {
		it->second.id = id;
		it->second.prefetch.depth = cfg_.prefetch_depth;
		it->second.prefetch.threshold = cfg_.prefetch_threshold;
	}
	return it->second;
}

VolumeState *PoolPlanner::volume(std::uint32_t id)
{
	auto it = vols_.find(id);
	return it == vols_.end() ? nullptr : &it->second;
}

void PoolPlanner::update_volume(const VolumeInfo &vi, std::uint64_t size_extents)
{
	VolumeState &v = vol(vi.volume);
	if (size_extents)
		v.size_extents = size_extents;
	v.tiering_enabled = vi.tiering_enabled;
	if (!vi.policy_name.empty())
		v.policy = vi.policy_name;
	if (!vi.model.empty() && vi.model != v.model) {
		v.model = vi.model;
		v.predictor.reset(); // rebuilt for the new setting
	}
}

void PoolPlanner::forget_volume(std::uint32_t id) { vols_.erase(id); }

void PoolPlanner::load_heat(std::uint32_t volume, const std::vector<dm_tier_heat_entry> &heat, double now_ms)
{
	VolumeState &v = vol(volume);
	for (const auto &h : heat) {
		ExtentState &e = v.extents[h.extent];
		e.tier = h.tier;
		e.flags = h.flags;
		e.migrating = h.flags & DM_TIER_HEAT_MIGRATING;
		e.pred = decay(e.pred, e.heat_ms, now_ms, cfg_.half_life_ms);
		double heat = observed_heat(v, h);
		e.heat = std::max(heat, decay(e.heat, e.heat_ms, now_ms, cfg_.half_life_ms));
		e.heat_ms = now_ms;
		// The kernel's counts are its decayed history: one report's worth
		// of evidence.
		e.hot_reports = heat >= cfg_.promote_heat ? 1 : 0;
		e.report_epoch = 0;
		// Every listed extent is mapped: the write frontier is past it.
		v.write_frontier = std::max<std::uint64_t>(v.write_frontier, h.extent + 1);
		v.have_frontier = true;
	}
}

double PoolPlanner::observed_heat(const VolumeState &v, const dm_tier_heat_entry &h) const
{
	return double(h.reads) + double(h.writes) * (1.0 - v.seq_share);
}

bool PoolPlanner::sustained(const ExtentState &e) const
{
	if (!cfg_.promote_reports)
		return true;
	// Hot in enough consecutive reports, the last one of the latest epoch
	// (or the one before: the planner may run between a volume's report
	// and another's).
	return e.hot_reports >= cfg_.promote_reports && (!epoch_ || e.report_epoch + 1 >= epoch_);
}

void PoolPlanner::observe(VolumeState &v, ExtentState &e, double heat, std::uint32_t epoch, std::uint8_t tier,
			  std::uint8_t flags, double now_ms)
{
	double before = v.score(e, now_ms, cfg_.half_life_ms, cfg_.predicted_weight);
	if (heat >= cfg_.promote_heat && tier != 0 && !(flags & DM_TIER_HEAT_PINNED)) {
		v.round_hot++;
		if (before < cfg_.promote_heat)
			v.round_surprise++;
	}
	// Evidence: consecutive epochs hot.  A report of a later epoch than
	// the next one means the extent went untouched in between.  (Reports
	// without an epoch count as consecutive.)
	std::uint32_t last = e.report_epoch;
	bool next = !epoch || !last || epoch <= last + 1;
	if (heat < cfg_.promote_heat)
		e.hot_reports = 0;
	else if (epoch && epoch == last)
		; // the same epoch again (a report split in parts)
	else
		e.hot_reports = next ? e.hot_reports + 1 : 1;
	e.report_epoch = epoch;
	// The kernel's count halves every policy round; ours decays with
	// half_life_ms: keep whichever remembers more.
	e.pred = decay(e.pred, e.heat_ms, now_ms, cfg_.half_life_ms);
	e.heat = std::max(heat, decay(e.heat, e.heat_ms, now_ms, cfg_.half_life_ms));
	e.heat_ms = now_ms;
	e.tier = tier;
	e.flags = flags;
	e.migrating = flags & DM_TIER_HEAT_MIGRATING;
}

void PoolPlanner::on_heat(const nl::HeatReport &r, double now_ms)
{
	VolumeState &v = vol(r.volume);
	epoch_ = std::max(epoch_, r.epoch);
	for (const auto &h : r.heat) {
		ExtentState &e = v.extents[h.extent];
		observe(v, e, observed_heat(v, h), r.epoch, h.tier, h.flags, now_ms);
		e.tr_heat = 0;
		e.tr_batches = 0;
	}
	// The kernel lists the extents whose heat epoch is the one that just
	// ended: an extent accessed again after the epoch turned and before
	// the report was built carries the new epoch and is missing -- the
	// hottest ones most often.  Their transitions since the last report
	// stand in for the kernel's count (a lower bound: repeated accesses
	// collapse into one transition) -- if they came in at least two
	// transition reports: the kernel sends those every 50 ms, so the last
	// accesses of an epoch arrive after its heat report, and an extent
	// accessed only then (the end of a burst) was in that report already.
	for (std::uint64_t x : v.tr_touched) {
		auto it = v.extents.find(x);
		if (it == v.extents.end() || it->second.tr_heat <= 0)
			continue;
		ExtentState &e = it->second;
		if (e.tier != kTierUnknown && e.tr_batches >= 2)
			observe(v, e, e.tr_heat, r.epoch, e.tier, e.flags, now_ms);
		e.tr_heat = 0;
		e.tr_batches = 0;
	}
	v.tr_touched.clear();
}

void PoolPlanner::on_profile(const nl::ProfileReport &r, double now_ms)
{
	VolumeState &v = vol(r.volume);
	const dm_tier_profile &p = r.profile, &o = v.profile;
	if (v.profile_ms >= 0 && now_ms > v.profile_ms) {
		double ios = double(p.reads - o.reads) + double(p.writes - o.writes);
		v.iops = p.reads + p.writes >= o.reads + o.writes ? ios * 1000.0 / (now_ms - v.profile_ms) : 0;
	}
	// The kernel's prefetch counters are cumulative; a restart of ours (or a
	// reload of the pool) may make them go back: then start over.
	std::uint64_t dh = p.prefetch_hits >= o.prefetch_hits ? p.prefetch_hits - o.prefetch_hits : p.prefetch_hits;
	std::uint64_t dm = p.prefetch_misses >= o.prefetch_misses ? p.prefetch_misses - o.prefetch_misses
								  : p.prefetch_misses;
	if (v.profile_ms >= 0) {
		v.win_hits += dh;
		v.win_misses += dm;
	}
	v.prefetch.hits = p.prefetch_hits;
	v.prefetch.misses = p.prefetch_misses;
	{
		// Sequential share of the last interval (of everything before
		// the first profile).
		std::uint64_t ios = p.reads + p.writes, old = o.reads + o.writes;
		std::uint64_t dios = ios >= old ? ios - old : ios;
		std::uint64_t dseq = p.sequential >= o.sequential ? p.sequential - o.sequential : p.sequential;
		if (dios)
			v.seq_share = std::min(1.0, double(dseq) / double(dios));
	}
	v.profile = p;
	v.profile_ms = now_ms;

	std::uint64_t ios = p.reads + p.writes;
	v.read_ratio = ios ? double(p.reads) / double(ios) : 0;
	if (ios >= 16) {
		predictor::Profile pr;
		pr.ios = ios;
		pr.read_ratio = v.read_ratio;
		pr.mean_size_kib = double(p.read_bytes + p.write_bytes) / double(ios) / 1024.0;
		std::uint64_t small = p.size_hist[0] + p.size_hist[1] + p.size_hist[2];
		std::uint64_t large = p.size_hist[5] + p.size_hist[6] + p.size_hist[7];
		pr.small_fraction = double(small) / double(ios);
		pr.large_fraction = double(large) / double(ios);
		pr.sequential = double(p.sequential) / double(ios);
		pr.iops = v.iops;
		pr.footprint_gib = double(v.extents.size()) * double(extent_bytes()) / double(1ULL << 30);
		pr.duration_s = 1;
		pr.reuse = v.transitions && ios ? 1.0 - std::min(1.0, double(v.transitions) / double(ios)) : 0;
		auto c = predictor::classify(pr);
		v.workload = predictor::workload_name(c.cls);
		v.workload_confidence = c.confidence;
	}
}

std::string PoolPlanner::model_path(std::uint32_t volume) const
{
	if (model_dir_.empty())
		return {};
	return model_dir_ + "/model-" + pool_ + "-" + std::to_string(volume) + ".model";
}

namespace {

predictor::Predictor *lstm_of(predictor::Predictor *p)
{
	if (auto *s = dynamic_cast<predictor::ModelSelector *>(p))
		p = s->candidate("lstm");
	return p && p->name() == "lstm" ? p : nullptr;
}

} // namespace

Result<std::size_t> PoolPlanner::save_models()
{
	std::size_t n = 0;
	if (model_dir_.empty())
		return n;
	for (auto &[id, v] : vols_) {
		predictor::Predictor *p = lstm_of(v.predictor.get());
		Status s;
		if (auto *b = dynamic_cast<predictor::BackgroundLstm *>(p)) {
			if (!b->trained())
				continue;
			s = b->save(model_path(id));
		} else if (auto *l = dynamic_cast<predictor::LstmPredictor *>(p)) {
			if (!l->transitions())
				continue;
			s = l->save(model_path(id));
		} else {
			continue;
		}
		if (!s)
			return make_error(s.error(), s.code());
		n++;
	}
	return n;
}

void PoolPlanner::ensure_predictor(VolumeState &v)
{
	if (v.predictor)
		return;
	build_predictor(v);
	if (!v.saved_state.empty() && v.saved_model == v.predictor->name()) {
		predictor::PayloadReader r(v.saved_state);
		v.restored = v.predictor->load_state(&r) && r.at_end();
		if (!v.restored) {
			// Unusable for this build's model: start as new.
			v.predictor.reset();
			build_predictor(v);
		}
	}
	v.saved_state.clear();
	v.saved_state.shrink_to_fit();
	v.saved_model.clear();
}

std::string PoolPlanner::learnt_path() const
{
	return model_dir_.empty() ? std::string() : model_dir_ + "/learnt-" + pool_ + ".state";
}

namespace {
constexpr const char *kLearntKind = "tierd-learnt";
constexpr std::uint32_t kLearntVersion = 1;
} // namespace

Result<std::size_t> PoolPlanner::save_learnt()
{
	if (model_dir_.empty())
		return std::size_t(0);
	predictor::PayloadWriter w;
	w.u32(kLearntVersion);
	w.str(pool_);
	w.u64(vols_.size());
	for (const auto &[id, v] : vols_) {
		w.u32(id);
		if (v.predictor) {
			predictor::PayloadWriter m;
			v.predictor->save_state(&m);
			auto b = m.take();
			w.str(v.predictor->name());
			w.str(std::string_view(b.data(), b.size()));
		} else {
			// Not built since the last load: keep what was saved.
			w.str(v.saved_model);
			w.str(std::string_view(v.saved_state.data(), v.saved_state.size()));
		}
		predictor::PayloadWriter ph;
		v.phases.save(&ph);
		auto b = ph.take();
		w.str(std::string_view(b.data(), b.size()));
	}
	predictor::ModelFile f{kLearntKind, w.take()};
	Status st = predictor::write_model_file(learnt_path(), f);
	if (!st)
		return make_error(st.error());
	return vols_.size();
}

Status PoolPlanner::load_learnt()
{
	std::string path = learnt_path();
	if (path.empty() || ::access(path.c_str(), F_OK) != 0)
		return {}; // nothing saved yet
	auto f = predictor::read_model_file(path);
	if (!f)
		return make_error(f.error());
	if (f->kind != kLearntKind)
		return make_error(path + ": a '" + f->kind + "' model file, not tierd's learnt state");
	predictor::PayloadReader r(f->payload);
	std::uint32_t version;
	std::string pool;
	std::uint64_t n;
	if (!r.u32(&version) || version != kLearntVersion)
		return make_error(path + ": unsupported learnt-state version");
	if (!r.str(&pool) || pool != pool_)
		return make_error(path + ": learnt state of pool '" + pool + "', not '" + pool_ + "'");
	struct Saved {
		std::uint32_t id;
		std::string model, state;
		PhaseTracker phases;
	};
	std::vector<Saved> saved;
	if (!r.u64(&n) || n > r.left())
		return make_error(path + ": learnt state corrupt (volume count)");
	for (std::uint64_t i = 0; i < n; i++) {
		Saved s;
		std::string ph;
		if (!r.u32(&s.id) || !r.str(&s.model) || !r.str(&s.state) || !r.str(&ph))
			return make_error(path + ": learnt state truncated or corrupt");
		std::vector<char> phb(ph.begin(), ph.end());
		predictor::PayloadReader pr(phb);
		if (!s.phases.load(&pr) || !pr.at_end())
			return make_error(path + ": learnt phases of volume " + std::to_string(s.id) + " corrupt");
		saved.push_back(std::move(s));
	}
	if (!r.at_end())
		return make_error(path + ": learnt state has trailing bytes");
	for (auto &s : saved) {
		VolumeState &v = vol(s.id);
		v.phases = std::move(s.phases);
		if (!v.predictor) {
			v.saved_model = std::move(s.model);
			v.saved_state.assign(s.state.begin(), s.state.end());
		}
	}
	return {};
}

void PoolPlanner::build_predictor(VolumeState &v)
{
	std::string setting = cfg_.model_override.empty() ? v.model : cfg_.model_override;
	auto ms = predictor::parse_model_setting(setting);
	if (ms && (ms->model == "lstm" || ms->model == "auto")) {
		// Built here rather than by make_volume_predictor: warm start from
		// the saved model, training in the background.
		std::unique_ptr<predictor::LstmPredictor> saved;
		if (!model_dir_.empty()) {
			auto l = predictor::LstmPredictor::load(model_path(v.id));
			if (l)
				saved = std::move(*l);
		}
		v.warm_started = saved != nullptr;
		std::unique_ptr<predictor::Predictor> lstm;
		if (cfg_.lstm_background) {
			predictor::TrainerConfig tc;
			tc.budget = cfg_.lstm_budget;
			if (!tc.budget) {
				if (!own_budget_)
					own_budget_ = std::make_shared<predictor::TrainingBudget>(cfg_.lstm_cpu_budget);
				tc.budget = own_budget_;
			}
			lstm = saved ? std::make_unique<predictor::BackgroundLstm>(*saved, tc)
				     : std::make_unique<predictor::BackgroundLstm>(predictor::LstmConfig{}, tc);
		} else {
			lstm = saved ? std::move(saved) : std::make_unique<predictor::LstmPredictor>();
		}
		if (ms->model == "lstm") {
			v.predictor = std::move(lstm);
			return;
		}
		std::vector<std::unique_ptr<predictor::Predictor>> c;
		for (const auto &n : predictor::predictor_names()) {
			if (n == "lstm")
				c.push_back(std::move(lstm));
			else
				c.push_back(std::move(*predictor::make_predictor(n)));
		}
		auto sel = std::make_unique<predictor::ModelSelector>(std::move(c));
		sel->set_sample_all(busy_, pred_stride_);
		// A pool's volumes pool their shadow evidence: a short-lived
		// volume runs the pool's learnt choice until its own evidence
		// decides.
		if (!selector_pool_)
			selector_pool_ = std::make_shared<predictor::SelectorPool>();
		sel->set_pool(selector_pool_);
		v.predictor = std::move(sel);
		return;
	}
	if (ms) {
		auto p = predictor::make_volume_predictor(*ms);
		if (p) {
			v.predictor = std::move(*p);
			return;
		}
	}
	// An unusable setting (e.g. an unreadable model file): a cheap model.
	v.predictor = std::move(*predictor::make_predictor("stride"));
}

std::vector<PrefetchEntry> VolumeState::ordered_queue() const
{
	std::vector<PrefetchEntry> q;
	q.reserve(queue.size());
	for (const auto &[x, e] : queue)
		q.push_back(e);
	std::sort(q.begin(), q.end(), entry_before);
	return q;
}

void PoolPlanner::enqueue(VolumeState &v, const predictor::Prediction &p, double now_ms, double expected_ms)
{
	auto [it, fresh] = v.queue.try_emplace(std::uint64_t(p.extent),
					       PrefetchEntry{std::uint64_t(p.extent), expected_ms, p.probability, now_ms});
	if (!fresh) {
		PrefetchEntry &e = it->second;
		e.expected_ms = std::min(e.expected_ms, expected_ms);
		e.probability = std::max(e.probability, p.probability);
		e.queued_ms = now_ms;
		return;
	}
	// Over twice the limit: keep the limit's worth from the front.
	if (v.queue.size() > 2 * std::size_t(cfg_.prefetch_queue_max)) {
		// Select (not sort) the cut-off entry, then erase what is behind it.
		auto &q = trim_scratch_;
		q.clear();
		for (const auto &[x, e] : v.queue)
			q.push_back(e);
		auto cut = q.begin() + cfg_.prefetch_queue_max;
		std::nth_element(q.begin(), cut, q.end(), entry_before);
		for (auto it2 = cut; it2 != q.end(); ++it2)
			v.queue.erase(it2->extent);
	}
}

void PoolPlanner::on_transitions(const nl::TransitionsReport &r, double now_ms)
{
	VolumeState &v = vol(r.volume);
	drops = std::max(drops, r.drops);
	tr_serial_++;
	ensure_predictor(v);
	std::vector<predictor::Prediction> pred;
	for (const auto &t : r.transitions) {
		transitions++;
		v.transitions++;
		if (t.flags & DM_TIER_TR_MAPPED) {
			auto &e = v.extents[t.extent];
			if (!e.migrating)
				e.tier = t.tier;
			if (e.tr_heat <= 0)
				v.tr_touched.push_back(t.extent);
			e.tr_heat += (t.flags & DM_TIER_TR_WRITE) ? 1.0 - v.seq_share : 1.0;
			if (!e.round_tr++)
				v.round_touched.push_back(t.extent);
			if (e.tr_serial != tr_serial_) {
				e.tr_serial = tr_serial_;
				e.tr_batches++;
			}
			fast_accesses++;
			if (t.tier == 0)
				fast_hits++;
		} else if (t.flags & DM_TIER_TR_WRITE) {
			// A first write: the kernel allocates it now (tier learnt from
			// the next heat report); the frontier moves past it.
			v.extents.try_emplace(t.extent);
			if (t.extent + 1 > v.write_frontier || !v.have_frontier)
				v.write_frontier = std::max(v.write_frontier, std::uint64_t(t.extent + 1));
			v.have_frontier = true;
		}
		predictor::Access a{t.time_ns, predictor::Extent(t.extent),
				    (t.flags & DM_TIER_TR_WRITE) ? predictor::Op::write : predictor::Op::read, t.bytes};
		if (!v.filter.accept(a))
			continue;
		// Accessed now: a queued prefetch of it would come too late.
		if (!v.queue.empty())
			v.queue.erase(t.extent);
		if (!v.last_pred.empty()) {
			v.pred_checked++;
			for (const auto &p : v.last_pred)
				if (std::uint64_t(p.extent) == t.extent) {
					v.pred_correct++;
					break;
				}
			v.last_pred.clear();
		}
		v.predictor->observe(a);
		// Busy: act on the predictions of 1 in pred_stride_ transitions,
		// each counted pred_stride_ times in the predicted mass.
		if (++v.pred_skipped < pred_stride_)
			continue;
		v.pred_skipped = 0;
		const double weight = pred_stride_;
		v.predictor->predict(v.prefetch.depth, &pred);
		for (const auto &p : pred) {
			if (p.probability < v.prefetch.threshold || p.extent < 0)
				continue;
			v.last_pred.push_back(p);
			auto it = v.extents.find(std::uint64_t(p.extent));
			if (it == v.extents.end())
				continue; // not mapped (as far as we know): nothing to move
			ExtentState &e = it->second;
			e.pred = decay(e.pred, e.heat_ms, now_ms, cfg_.half_life_ms);
			e.heat = decay(e.heat, e.heat_ms, now_ms, cfg_.half_life_ms);
			e.heat_ms = now_ms;
			e.pred = std::min(4.0, e.pred + weight * p.probability);
			if (e.tier == 0 || e.tier == kTierUnknown || (e.flags & DM_TIER_HEAT_PINNED))
				continue;
			double ahead_ms = p.expected_time_ns > t.time_ns ? double(p.expected_time_ns - t.time_ns) / 1e6 : 0;
			enqueue(v, p, now_ms, now_ms + ahead_ms);
		}
	}
	note_rate(r);
}

void PoolPlanner::note_rate(const nl::TransitionsReport &r)
{
	if (r.transitions.empty())
		return;
	if (!rate_t0_ns_)
		rate_t0_ns_ = r.transitions.front().time_ns;
	rate_n_ += r.transitions.size();
	std::uint64_t t = r.transitions.back().time_ns;
	if (t <= rate_t0_ns_ || t - rate_t0_ns_ < 1000000000)
		return;
	rate_ = double(rate_n_) * 1e9 / double(t - rate_t0_ns_);
	rate_t0_ns_ = t;
	rate_n_ = 0;
	double full = cfg_.busy_rate;
	bool on = full > 0 && (busy_ ? rate_ >= full / 2 : rate_ > full);
	std::uint32_t stride = on ? std::uint32_t(std::clamp(std::ceil(rate_ / full), 1.0, 16.0)) : 1;
	if (on == busy_ && stride == pred_stride_)
		return;
	busy_ = on;
	pred_stride_ = stride;
	for (auto &[id, v] : vols_)
		if (auto *s = dynamic_cast<predictor::ModelSelector *>(v.predictor.get()))
			s->set_sample_all(on, stride);
}

void PoolPlanner::on_migrations(const nl::MigrationDoneReport &r)
{
	for (const auto &m : r.migrations) {
		bool ok = m.flags & DM_TIER_MIG_OK;
		if (ok) {
			migrations_done++;
			bytes_moved += extent_bytes();
		} else {
			migrations_failed++;
		}
		VolumeState *v = volume(m.volume);
		if (!v)
			continue;
		auto it = v->extents.find(m.extent);
		if (it == v->extents.end())
			continue;
		it->second.tier = ok ? m.to_tier : m.from_tier;
		it->second.migrating = false;
	}
}

void PoolPlanner::adapt_prefetch(VolumeState &v)
{
	std::uint64_t n = v.win_hits + v.win_misses;
	if (n < cfg_.adapt_min_samples)
		return;
	double ratio = double(v.win_hits) / double(n);
	auto &pf = v.prefetch;
	if (ratio >= cfg_.hit_ratio_high) {
		pf.depth = std::min(cfg_.prefetch_depth_max, std::max(pf.depth * 2, pf.depth + 1));
		pf.threshold = std::max(cfg_.prefetch_threshold_min, pf.threshold * 0.8);
	} else if (ratio < cfg_.hit_ratio_low) {
		pf.depth = std::max(cfg_.prefetch_depth_min, pf.depth / 2);
		pf.threshold = std::min(cfg_.prefetch_threshold_max, pf.threshold * 1.25);
	}
	v.win_hits = v.win_misses = 0;
}

std::uint8_t PoolPlanner::hint_tier(const VolumeState &v) const
{
	std::size_t n = info_.tiers.size();
	if (!n)
		return 0;
	std::size_t want;
	if (v.policy == "performance-optimized")
		want = 0;
	else if (v.policy == "cost-optimized" || v.workload == "backup_streaming" || v.workload == "idle")
		want = n - 1;
	else if (v.read_ratio >= 0.5 && v.iops > 0)
		want = 0; // written data is read back: start it fast
	else
		want = n / 2;
	// The wanted tier if it has room below the fill target, else the next
	// slower one that has, else the wanted one (the kernel falls back).
	for (std::size_t t = want; t < n; t++) {
		const auto &ti = info_.tiers[t];
		if (double(ti.used) < double(ti.total) * cfg_.fill_target)
			return std::uint8_t(t);
	}
	return std::uint8_t(want);
}

std::uint32_t PoolPlanner::policy_tier(const VolumeState &v) const
{
	// The kernel's own choice without a hint (__dmt_alloc): tier 0 for
	// performance-optimized, the slowest for cost-optimized, the middle
	// one otherwise.
	std::size_t n = info_.tiers.size();
	if (v.policy == "performance-optimized")
		return 0;
	if (v.policy == "cost-optimized")
		return std::uint32_t(n - 1);
	return std::uint32_t(n / 2);
}

void PoolPlanner::resend_hints() { resend_hints_ = true; }

void PoolPlanner::track_phase(VolumeState &v, double now_ms)
{
	// The round's active extents: repeatedly accessed, at four times the
	// rate the round's transitions would give each of the volume's extents
	// if spread evenly (a scan or a fill touches each extent once; a
	// background of scattered reads stays near the even rate).
	std::vector<std::uint64_t> active;
	double sum = 0;
	for (std::uint64_t x : v.round_touched)
		if (auto it = v.extents.find(x); it != v.extents.end())
			sum += it->second.round_tr;
	double n = double(std::max<std::size_t>({v.extents.size(), v.round_touched.size(), 1}));
	double floor = std::max<double>(cfg_.phase_active_transitions, 4 * sum / n);
	for (std::uint64_t x : v.round_touched)
		if (auto it = v.extents.find(x); it != v.extents.end() && it->second.round_tr >= floor)
			active.push_back(x);
	std::sort(active.begin(), active.end());
	auto ch = v.phases.observe(now_ms, active);
	if (ch.changed) {
		if (ch.from >= 0 && ch.known) {
			// A recurring phase came back: the old phase's extents
			// are done for now (their remembered heat was the forecast
			// that deviated); what they got this round (the end of
			// their phase, likely) is what they are worth.  Only for a
			// phase seen before: a new active set may run alongside the
			// old one (concurrent programs: the LIRS multi traces lose
			// 0.03-0.09 of their tier-0 share when every change resets).
			for (std::uint64_t x : v.phases.members(ch.from)) {
				if (std::binary_search(ch.fresh.begin(), ch.fresh.end(), x))
					continue;
				auto it = v.extents.find(x);
				if (it == v.extents.end())
					continue;
				ExtentState &e = it->second;
				e.heat = std::min(decay(e.heat, e.heat_ms, now_ms, cfg_.half_life_ms), double(e.round_tr));
				e.pred = 0;
				e.heat_ms = now_ms;
				e.hot_reports = 0;
			}
		}
		// The new phase's extents: all of a phase seen before, the active
		// ones of a new phase.
		v.phase_round = std::int64_t(round_);
		v.phase_targets = ch.fresh;
		if (ch.known)
			for (std::uint64_t x : v.phases.members(ch.to))
				if (!std::binary_search(ch.fresh.begin(), ch.fresh.end(), x))
					v.phase_targets.push_back(x);
	}
	for (std::uint64_t x : v.round_touched)
		if (auto it = v.extents.find(x); it != v.extents.end())
			it->second.round_tr = 0;
	v.round_touched.clear();
	// The forecast next phase, while forecasts have been right at least
	// half the time.
	v.phase_forecast.clear();
	auto f = v.phases.next();
	if (f && (v.phases.forecasts < 2 || 2 * v.phases.forecasts_right >= v.phases.forecasts)) {
		for (std::uint64_t x : v.phases.members(f->phase))
			if (!v.phases.is_member(v.phases.current(), x))
				v.phase_forecast.push_back(x);
		v.phase_forecast_ms = f->at_ms;
		for (std::uint64_t x : v.phase_forecast)
			if (auto it = v.extents.find(x); it != v.extents.end())
				it->second.keep_round = std::int64_t(round_);
	}
}

Plan PoolPlanner::plan(double now_ms)
{
	Plan plan;
	round_++;
	const std::size_t nt = info_.tiers.size();
	const double hl = cfg_.half_life_ms, w = cfg_.predicted_weight;
	std::uint32_t budget = cfg_.budget_per_round;

	if (cfg_.phase_tracking)
		for (auto &[id, v] : vols_)
			track_phase(v, now_ms);

	// Re-tiering: a volume whose hot extents came unforecast.
	// It lasts until the surprising extents have the evidence a promotion
	// needs (promote_reports rounds).
	for (auto &[id, v] : vols_) {
		if (v.round_hot >= cfg_.retier_min_hot &&
		    double(v.round_surprise) > cfg_.retier_deviation * double(v.round_hot)) {
			v.retier_events++;
			v.retier_rounds = std::max<std::uint32_t>(1, cfg_.promote_reports);
		}
		v.retier = v.retier_rounds > 0;
		if (v.retier) {
			v.retier_rounds--;
			plan.retier_volumes++;
		}
		v.round_hot = v.round_surprise = 0;
	}

	std::vector<double> used(nt), cap(nt), total(nt);
	for (std::size_t t = 0; t < nt; t++) {
		used[t] = double(info_.tiers[t].used);
		total[t] = double(info_.tiers[t].total);
		cap[t] = std::floor(total[t] * cfg_.fill_target);
	}

	struct Cand {
		VolumeState *v;
		std::uint64_t extent;
		ExtentState *e;
		double score;
		bool retier;
	};
	// Movable extents per tier.
	std::vector<std::vector<Cand>> on_tier(nt);
	for (auto &[id, v] : vols_) {
		if (!v.tiering_enabled)
			continue;
		for (auto &[x, e] : v.extents) {
			if (e.migrating && e.moved_round >= 0 && std::int64_t(round_) - e.moved_round > 30)
				e.migrating = false; // the kernel never told: stop waiting
			if (e.tier >= nt || e.migrating || (e.flags & DM_TIER_HEAT_PINNED))
				continue;
			if (std::int64_t(round_) - e.moved_round < std::int64_t(cfg_.residency_rounds))
				continue;
			on_tier[e.tier].push_back({&v, x, &e, v.score(e, now_ms, hl, w), v.retier});
		}
	}
	auto move = [&](Cand &c, std::size_t to) {
		dm_tier_extent_cmd cmd{};
		cmd.volume = c.v->id;
		cmd.tier = std::uint32_t(to);
		cmd.extent = c.extent;
		plan.migrate.push_back(cmd);
		used[c.e->tier] -= 1;
		used[to] += 1;
		if (to < c.e->tier)
			plan.promotions++;
		else
			plan.demotions++;
		c.e->migrating = true;
		c.e->moved_round = std::int64_t(round_);
		budget--;
	};
	auto room_below = [&](std::size_t from) -> std::size_t {
		for (std::size_t t = from + 1; t < nt; t++)
			if (used[t] + 1 <= total[t])
				return t;
		return nt;
	};

	// 1. Demotions: tiers over their fill target shed their coldest
	// not-hot extents; cost-optimized volumes shed cold extents anyway.
	for (std::size_t t = 0; t + 1 < nt && budget; t++) {
		auto &c = on_tier[t];
		std::sort(c.begin(), c.end(), [](const Cand &a, const Cand &b) { return a.score < b.score; });
		for (auto &x : c) {
			if (!budget)
				break;
			if (x.e->migrating || x.e->keep_round == std::int64_t(round_))
				continue;
			bool pressure = used[t] > cap[t] && x.score < cfg_.promote_heat;
			bool cold = x.score <= cfg_.demote_heat && x.v->policy == "cost-optimized";
			if (!pressure && !cold)
				continue;
			std::size_t to = room_below(t);
			if (to >= nt)
				break;
			move(x, to);
		}
	}

	// 2. Prefetches (before promotions: they are due first): per volume, the queue's front (earliest predicted
	// access, then most probable), up to the volume's depth, into tier 0
	// while it has room (prefetches may use half of the reserve above the
	// fill target).
	double pf_cap = nt ? std::floor(total[0] * (cfg_.fill_target + (1 - cfg_.fill_target) / 2)) : 0;
	std::vector<VolumeState *> order;
	for (auto &[id, v] : vols_)
		order.push_back(&v);
	std::stable_sort(order.begin(), order.end(),
			 [](const VolumeState *a, const VolumeState *b) { return a->retier && !b->retier; });
	for (VolumeState *v : order) {
		std::uint32_t issued = 0;
		auto q = v->ordered_queue();
		std::vector<PrefetchEntry> keep;
		for (auto &pe : q) {
			bool expired = pe.queued_ms + cfg_.prefetch_ttl_ms < now_ms;
			auto it = v->extents.find(pe.extent);
			bool movable = it != v->extents.end() && it->second.tier != 0 && it->second.tier < nt &&
				       !it->second.migrating && !(it->second.flags & DM_TIER_HEAT_PINNED) &&
				       v->tiering_enabled;
			if (expired || !movable)
				continue;
			if (!budget || issued >= v->prefetch.depth || !nt || used[0] + 1 > pf_cap) {
				keep.push_back(pe);
				continue;
			}
			dm_tier_extent_cmd cmd{};
			cmd.volume = v->id;
			cmd.tier = 0;
			cmd.extent = pe.extent;
			double ahead = std::max(0.0, pe.expected_ms - now_ms);
			cmd.deadline_ms = std::uint32_t(std::min(600000.0, ahead + cfg_.prefetch_deadline_min_ms));
			plan.prefetch.push_back(cmd);
			used[it->second.tier] -= 1;
			used[0] += 1;
			it->second.migrating = true;
			it->second.moved_round = std::int64_t(round_);
			v->prefetch.issued++;
			issued++;
			budget--;
		}
		v->queue.clear();
		for (std::size_t i = 0; i < keep.size() && i < cfg_.prefetch_queue_max; i++)
			v->queue.emplace(keep[i].extent, keep[i]);
	}

	// 2b. Phases: a phase change brings the new phase's extents to tier 0
	// (migrations), the forecast next phase's extents follow as prefetches
	// -- into room below the fill target, else in place of tier 0's
	// coldest extents that are neither hot nor of either phase.
	if (nt > 1) {
		std::size_t vi = 0; // next victim candidate in on_tier[0] (coldest first)
		for (auto &[id, v] : vols_) {
			if (!v.tiering_enabled || (v.phase_targets.empty() && v.phase_forecast.empty()))
				continue;
			std::int64_t cur = v.phases.current();
			auto phase_move = [&](std::uint64_t x, bool prefetch) -> bool {
				auto it = v.extents.find(x);
				if (it == v.extents.end())
					return true;
				ExtentState &e = it->second;
				if (e.tier == 0 || e.tier >= nt || e.migrating || (e.flags & DM_TIER_HEAT_PINNED) ||
				    std::int64_t(round_) - e.moved_round < std::int64_t(cfg_.residency_rounds))
					return true;
				if (!budget)
					return false;
				if (used[0] + 1 > cap[0]) {
					if (budget < 2)
						return false;
					auto &vs = on_tier[0];
					while (vi < vs.size() &&
					       (vs[vi].e->migrating || vs[vi].e->keep_round == std::int64_t(round_) ||
						(vs[vi].v == &v && v.phases.is_member(cur, vs[vi].extent))))
						vi++;
					if (vi >= vs.size() || vs[vi].score >= cfg_.promote_heat)
						return false;
					std::size_t to = room_below(0);
					if (to >= nt)
						return false;
					move(vs[vi++], to);
				}
				Cand c{&v, x, &e, 0, false};
				std::uint8_t from = e.tier;
				if (!prefetch) {
					move(c, 0);
					v.phase_moves++;
					return true;
				}
				dm_tier_extent_cmd cmd{};
				cmd.volume = v.id;
				cmd.tier = 0;
				cmd.extent = x;
				double ahead = std::max(0.0, v.phase_forecast_ms - now_ms);
				cmd.deadline_ms = std::uint32_t(std::min(600000.0, ahead + cfg_.prefetch_deadline_min_ms));
				plan.prefetch.push_back(cmd);
				used[from] -= 1;
				used[0] += 1;
				e.migrating = true;
				e.moved_round = std::int64_t(round_);
				e.pred = std::min(4.0, decay(e.pred, e.heat_ms, now_ms, hl) + 1.0);
				e.heat = decay(e.heat, e.heat_ms, now_ms, hl);
				e.heat_ms = now_ms;
				v.prefetch.issued++;
				v.phase_prefetches++;
				budget--;
				return true;
			};
			std::vector<std::uint64_t> left;
			for (std::uint64_t x : v.phase_targets)
				if (!phase_move(x, false))
					left.push_back(x);
			// Left for lack of room: tried again for a few rounds.
			v.phase_targets = std::int64_t(round_) - v.phase_round < 3 ? std::move(left)
									       : std::vector<std::uint64_t>{};
			for (std::uint64_t x : v.phase_forecast)
				if (!phase_move(x, true))
					break;
		}
	}

	// 3. Promotions, hottest first (volumes being re-tiered first): into
	// the fastest tier with room, else by swapping with a colder extent.
	std::vector<Cand> hot;
	for (std::size_t t = 1; t < nt; t++)
		for (auto &x : on_tier[t])
			if (!x.e->migrating && x.score >= cfg_.promote_heat && sustained(*x.e))
				hot.push_back(x);
	std::sort(hot.begin(), hot.end(), [](const Cand &a, const Cand &b) {
		if (a.retier != b.retier)
			return a.retier;
		return a.score > b.score;
	});
	// Victims for swaps: per tier, coldest first (on_tier[t] for every
	// tier but the last was sorted that way above).
	std::vector<std::size_t> victim(nt, 0);
	for (auto &x : hot) {
		if (!budget)
			break;
		// Tiers faster than x's, fastest first: move in if there is room,
		// else swap with that tier's coldest movable extent when x is
		// hotter by the ratio and margin, or by the margin alone in
		// swap_sustained_rounds consecutive rounds (the victim goes to the
		// next tier down with room, or to x's tier).
		std::size_t from = x.e->tier;
		for (std::size_t t = 0; t < from; t++) {
			if (used[t] + 1 <= cap[t]) {
				move(x, t);
				break;
			}
			if (budget < 2)
				continue;
			auto &vs = on_tier[t];
			std::size_t &i = victim[t];
			while (i < vs.size() && (vs[i].e->migrating || vs[i].e->keep_round == std::int64_t(round_)))
				i++;
			if (i >= vs.size() || vs[i].score + cfg_.swap_margin >= x.score)
				continue;
			if (vs[i].score * cfg_.swap_ratio + cfg_.swap_margin >= x.score) {
				// Leads by the margin only: count the rounds (of a
				// lead into this tier).
				ExtentState &xe = *x.e;
				if (xe.lead_round != std::int64_t(round_)) {
					bool again = xe.lead_round == std::int64_t(round_) - 1 && xe.lead_tier == t;
					xe.lead_rounds = again ? xe.lead_rounds + 1 : 1;
					xe.lead_round = std::int64_t(round_);
					xe.lead_tier = std::uint8_t(t);
				}
				if (xe.lead_tier != t)
					continue;
				if (!cfg_.swap_sustained_rounds || xe.lead_rounds < cfg_.swap_sustained_rounds)
					continue;
			}
			Cand &vc = vs[i++];
			std::size_t to = room_below(t);
			if (to >= nt || to > from)
				to = from;
			move(vc, to);
			move(x, t);
			break;
		}
	}

	// 4. Allocation hints past each volume's write frontier.
	for (auto &[id, v] : vols_) {
		if (!v.size_extents || !nt || !v.tiering_enabled)
			continue;
		std::uint64_t begin = v.write_frontier;
		std::uint64_t end = std::min<std::uint64_t>(v.size_extents, begin + cfg_.hint_extents);
		if (begin >= end)
			continue;
		dm_tier_extent_cmd cmd{};
		cmd.volume = id;
		cmd.tier = hint_tier(v);
		cmd.extent = begin;
		cmd.end = end;
		if (cmd.tier == policy_tier(v)) {
			// The kernel allocates there anyway, by the volume's policy,
			// which it knows first-hand: a hint would only pin a choice
			// made on settings read up to rediscover_s ago (a policy
			// changed since would be overridden).  Clear ours, if any.
			if (!v.hint_sent || v.last_hint.tier == DM_TIER_TIER_NONE)
				continue;
			cmd.tier = DM_TIER_TIER_NONE;
			cmd.extent = std::min<std::uint64_t>(begin, v.last_hint.extent);
			cmd.end = std::max<std::uint64_t>(end, v.last_hint.end);
			plan.hints.push_back(cmd);
			v.last_hint = cmd;
			continue;
		}
		if (!resend_hints_ && v.hint_sent && v.last_hint.extent == cmd.extent && v.last_hint.end == cmd.end &&
		    v.last_hint.tier == cmd.tier)
			continue;
		plan.hints.push_back(cmd);
		v.last_hint = cmd;
		v.hint_sent = true;
	}
	resend_hints_ = false;

	// 5. Prefetch depth and threshold follow the measured hit ratio.
	for (auto &[id, v] : vols_)
		adapt_prefetch(v);
	return plan;
}

Plan PoolPlanner::run_round(Kernel &k, double now_ms)
{
	Plan p = plan(now_ms);
	auto send = [&](Command c, const std::vector<dm_tier_extent_cmd> &cmds, std::uint64_t *sent) {
		if (cmds.empty())
			return;
		auto r = k.batch(c, pool_, cmds);
		if (!r) {
			if (p.error.empty())
				p.error = std::string(nl::command_name(std::uint8_t(c))) + ": " + r.error();
			rejected += cmds.size();
			p.rejected += std::uint32_t(cmds.size());
			// Nothing was queued: let the extents be planned again.
			if (c != Command::set_hint)
				for (const auto &cmd : cmds)
					if (auto *v = volume(cmd.volume)) {
						auto it = v->extents.find(cmd.extent);
						if (it != v->extents.end()) {
							it->second.migrating = false;
							it->second.moved_round = -1000000;
						}
					}
			if (c == Command::set_hint)
				resend_hints_ = true;
			return;
		}
		*sent += r->accepted;
		rejected += r->rejected;
		p.rejected += r->rejected;
	};
	send(Command::migrate, p.migrate, &migrations_sent);
	send(Command::prefetch, p.prefetch, &prefetches_sent);
	send(Command::set_hint, p.hints, &hints_sent);
	return p;
}

nlohmann::json PoolPlanner::to_json(double now_ms) const
{
	using nlohmann::json;
	json j;
	j["pool"] = pool_;
	j["round"] = round_;
	json geo = json::array();
	for (const auto &t : info_.tiers)
		geo.push_back(t.total);
	j["geometry"] = {{"extent_sectors", info_.extent_sectors}, {"tier_extents", geo}};
	j["counters"] = {{"migrations_sent", migrations_sent}, {"prefetches_sent", prefetches_sent},
			 {"migrations_done", migrations_done}, {"migrations_failed", migrations_failed},
			 {"bytes_moved", bytes_moved},	       {"transitions", transitions},
			 {"fast_hits", fast_hits},	       {"fast_accesses", fast_accesses}};
	json vols = json::array();
	for (const auto &[id, v] : vols_) {
		json ext = json::array();
		for (const auto &[x, e] : v.extents) {
			double h = decay(e.heat, e.heat_ms, now_ms, cfg_.half_life_ms);
			double p = decay(e.pred, e.heat_ms, now_ms, cfg_.half_life_ms);
			ext.push_back({x, e.tier, h, p});
		}
		vols.push_back({{"id", id},
				{"workload", v.workload},
				{"prefetch_depth", v.prefetch.depth},
				{"prefetch_threshold", v.prefetch.threshold},
				{"prefetch_issued", v.prefetch.issued},
				{"write_frontier", v.write_frontier},
				{"have_frontier", v.have_frontier},
				{"pred_checked", v.pred_checked},
				{"pred_correct", v.pred_correct},
				{"retier_events", v.retier_events},
				{"extents", std::move(ext)}});
	}
	j["volumes"] = std::move(vols);
	return j;
}

Status PoolPlanner::from_json(const nlohmann::json &j, double now_ms)
{
	try {
		if (j.value("pool", std::string()) != pool_)
			return make_error("state is for pool '" + j.value("pool", std::string()) + "', not '" + pool_ + "'");
		if (info_.extent_sectors && j.contains("geometry")) {
			std::vector<std::uint64_t> mine;
			for (const auto &t : info_.tiers)
				mine.push_back(t.total);
			const auto &g = j["geometry"];
			if (g.value("extent_sectors", std::uint64_t(0)) != info_.extent_sectors ||
			    g.value("tier_extents", std::vector<std::uint64_t>()) != mine)
				return make_error("state is for another pool named '" + pool_ +
						  "' (different extent size or tiers)");
		}
		round_ = j.value("round", std::uint64_t(0));
		if (j.contains("counters")) {
			const auto &c = j["counters"];
			migrations_sent = c.value("migrations_sent", std::uint64_t(0));
			prefetches_sent = c.value("prefetches_sent", std::uint64_t(0));
			migrations_done = c.value("migrations_done", std::uint64_t(0));
			migrations_failed = c.value("migrations_failed", std::uint64_t(0));
			bytes_moved = c.value("bytes_moved", std::uint64_t(0));
			transitions = c.value("transitions", std::uint64_t(0));
			fast_hits = c.value("fast_hits", std::uint64_t(0));
			fast_accesses = c.value("fast_accesses", std::uint64_t(0));
		}
		for (const auto &jv : j.at("volumes")) {
			VolumeState &v = vol(jv.at("id").get<std::uint32_t>());
			v.workload = jv.value("workload", std::string("unknown"));
			v.prefetch.depth = std::clamp(jv.value("prefetch_depth", cfg_.prefetch_depth),
						      cfg_.prefetch_depth_min, cfg_.prefetch_depth_max);
			v.prefetch.threshold = std::clamp(jv.value("prefetch_threshold", cfg_.prefetch_threshold),
							  cfg_.prefetch_threshold_min, cfg_.prefetch_threshold_max);
			v.prefetch.issued = jv.value("prefetch_issued", std::uint64_t(0));
			v.write_frontier = jv.value("write_frontier", std::uint64_t(0));
			v.have_frontier = jv.value("have_frontier", false);
			v.pred_checked = jv.value("pred_checked", std::uint64_t(0));
			v.pred_correct = jv.value("pred_correct", std::uint64_t(0));
			v.retier_events = jv.value("retier_events", std::uint64_t(0));
			for (const auto &je : jv.at("extents")) {
				ExtentState &e = v.extents[je.at(0).get<std::uint64_t>()];
				e.tier = je.at(1).get<std::uint8_t>();
				e.heat = je.at(2).get<double>();
				e.pred = je.at(3).get<double>();
				e.heat_ms = now_ms;
			}
		}
	} catch (const std::exception &ex) {
		return make_error(std::string("bad planner state: ") + ex.what());
	}
	return {};
}

} // namespace dmtier::planner
