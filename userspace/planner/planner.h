// SPDX-License-Identifier: GPL-2.0
// The tiering planner of one pool: keeps per-volume state from the kernel's
// reports (heat, profiles, transitions, migration events) and, once per
// planning round, decides what to send back:
//
//  * promotions of hot extents (observed heat plus predicted mass) and
//    demotions of cold ones, within a per-round migration budget and the
//    tiers' capacities, with hysteresis (a dead band between the promote
//    and demote scores, a residency guard after each move, a margin for
//    swaps into a full tier);
//  * per volume, a prefetch queue of predicted extents ordered by predicted
//    access time, then importance (probability); its depth and probability
//    threshold adapt to the measured prefetch hit ratio;
//  * allocation hints for the unwritten region past a volume's write
//    frontier;
//  * re-tiering: a volume whose observed hot set deviates from the forecast
//    gets a larger share of the next round's budget.
//
// Time is the caller's clock in milliseconds (now_ms), so tests drive it.
// Heat is in the kernel's unit: decayed accesses, halving every
// half_life_ms (the kernel halves once per policy round).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "planner/kernel.h"
#include "planner/phase.h"
#include "predictor/predictor.h"
#include "predictor/selector.h"

namespace dmtier::predictor {
class TrainingBudget; // predictor/trainer.h
}

namespace dmtier::planner {

inline constexpr std::uint8_t kTierUnknown = 0xff;

struct PlannerConfig {
	// Migrations (promotions + demotions + prefetches) per pool per round.
	std::uint32_t budget_per_round = 64;
	// Hysteresis: promote at or above promote_heat, demote at or below
	// demote_heat; in between an extent stays where it is.
	double promote_heat = 4.0;
	double demote_heat = 1.0;
	// A hot extent displaces a colder one from a full tier only when its
	// score exceeds swap_ratio x the victim's + swap_margin (the kernel's
	// fallback policy: twice as hot, plus 2).
	double swap_ratio = 2.0;
	double swap_margin = 2.0;
	// Sustained evidence corrects what the ratio keeps: a candidate
	// hotter than the victim by swap_margin alone in this many consecutive
	// rounds swaps too (0: never).  The residency guard and the margin
	// keep a swapped pair from trading places back.
	std::uint32_t swap_sustained_rounds = 5;
	// Rounds an extent stays put after a move the planner asked for.
	std::uint32_t residency_rounds = 5;
	// Evidence: an extent is promoted only once its observed heat reached
	// promote_heat in this many consecutive heat reports (kernel epochs),
	// so a one-epoch burst (a scan, a sequential fill) moves nothing.
	std::uint32_t promote_reports = 2;
	// Fraction of each tier the planner fills (the rest is room for first
	// writes and prefetches).
	double fill_target = 0.9;
	// Heat decay.
	double half_life_ms = 5000;
	// Weight of predicted probability mass in an extent's score.
	double predicted_weight = 4.0;

	// Prefetching.
	std::uint32_t prefetch_depth = 4; // initial per-volume depth
	std::uint32_t prefetch_depth_min = 1, prefetch_depth_max = 32;
	double prefetch_threshold = 0.1; // initial minimum probability
	double prefetch_threshold_min = 0.02, prefetch_threshold_max = 0.6;
	double hit_ratio_high = 0.6, hit_ratio_low = 0.3;
	std::uint32_t adapt_min_samples = 8; // hits + misses before adapting
	std::uint32_t prefetch_queue_max = 256;
	std::uint32_t prefetch_ttl_ms = 10000; // queued predictions expire
	std::uint32_t prefetch_deadline_min_ms = 2000;

	// Allocation hints: extents past the write frontier.
	std::uint32_t hint_extents = 64;

	// Re-tiering: when more than this fraction of a round's hot extents
	// were not forecast, the volume's share of the budget doubles.
	double retier_deviation = 0.5;
	std::uint32_t retier_min_hot = 4;

	// Phases of the hot set (planner/phase.h): an extent with at least
	// phase_active_transitions transitions in a round, and at least four
	// times the round's transitions per extent of the volume, is active.  On a
	// phase change the new phase's extents (all of them for a phase seen
	// before) go to tier 0 at once and the old phase's heat memory is
	// dropped; once a phase's successor is learned, its extents are
	// prefetched into tier 0 in the room of extents of neither phase.
	bool phase_tracking = true;
	std::uint32_t phase_active_transitions = 2;

	// "" follows each volume's prediction_model; else this model for all.
	std::string model_override;
	// The LSTM (forced, or the selector's candidate) trains on a
	// background thread per volume, off the report path; false trains
	// inline (deterministic, for tests). All trainers share lstm_budget
	// (tierd: one for the daemon, of lstm_cpu_budget of one core); unset,
	// the pool's trainers share one of lstm_cpu_budget.
	bool lstm_background = true;
	double lstm_cpu_budget = 0.01;
	// Above this many transitions/s in the pool (measured over a second of
	// the reports' time) the pool is busy and the planner works on samples:
	// `auto` volumes score their shadow candidates on a sample
	// (ModelSelector::set_sample_all: one run of shadow scoring per 128
	// transitions times the stride), and the volumes' predictions are
	// acted on for 1 in ceil(rate / busy_rate) transitions (the stride, at
	// most 16), their probabilities counted that many times in the
	// predicted mass. So the planner's cost per second stops growing with
	// the rate.
	// Below half of it, every transition again. 0: never busy.
	double busy_rate = 5000;
	std::shared_ptr<predictor::TrainingBudget> lstm_budget;
};

// What a round decided (and, after run_round, what the kernel accepted).
struct Plan {
	std::vector<dm_tier_extent_cmd> migrate;
	std::vector<dm_tier_extent_cmd> prefetch;
	std::vector<dm_tier_extent_cmd> hints;
	std::uint32_t promotions = 0, demotions = 0;
	std::uint32_t retier_volumes = 0;
	std::uint32_t rejected = 0;
	std::string error; // a batch that failed as a whole
};

struct PrefetchStats {
	std::uint64_t hits = 0, misses = 0; // kernel's counters (profile)
	std::uint64_t issued = 0;	    // prefetches the planner sent
	std::uint32_t depth = 0;
	double threshold = 0;
	double hit_ratio() const { return hits + misses ? double(hits) / double(hits + misses) : 0.0; }
};

struct ExtentState {
	std::uint8_t tier = kTierUnknown;
	std::uint8_t flags = 0;	      // DM_TIER_HEAT_*
	bool migrating = false;	      // a move we sent is pending
	double heat = 0;	      // decayed accesses at heat_ms
	double pred = 0;	      // decayed predicted mass at heat_ms
	double heat_ms = 0;
	std::int64_t moved_round = -1000000; // round of our last move
	// Consecutive heat reports (epochs) with observed heat >= promote_heat,
	// and the epoch of the last report that listed this extent.
	std::uint32_t hot_reports = 0;
	std::uint32_t report_epoch = 0;
	// Accesses seen as transitions since the volume's last heat report
	// (writes weighed like in heat).
	double tr_heat = 0;
	std::uint32_t tr_batches = 0; // transitions reports they came in
	std::uint32_t tr_serial = 0;
	// Consecutive rounds (up to lead_round) this extent led a swap victim
	// by the margin without reaching the ratio.
	std::uint32_t lead_rounds = 0;
	std::int64_t lead_round = -1;
	std::uint8_t lead_tier = 0;
	// Transitions in the current planning round (phase tracking).
	std::uint32_t round_tr = 0;
	// A member of the forecast next phase: kept on tier 0 through this
	// round (not shed, not a swap victim).
	std::int64_t keep_round = -1;
};

struct PrefetchEntry {
	std::uint64_t extent = 0;
	double expected_ms = 0; // predicted access time
	double probability = 0; // importance
	double queued_ms = 0;
};

class VolumeState {
public:
	std::uint32_t id = 0;
	std::uint64_t size_extents = 0; // 0: unknown (no hints)
	bool tiering_enabled = true;
	std::string policy = "balanced";
	std::string model = "auto";
	std::string workload = "unknown"; // classifier's name
	double workload_confidence = 0;
	dm_tier_profile profile{};	  // last cumulative counters
	double iops = 0;		  // from the last two profiles
	double read_ratio = 0;
	// Share of the I/Os between the last two profiles that were
	// sequential (started where the previous ended): writes weigh that
	// much less in heat, as sequentially written data (a fill, a log, a
	// backup) is rarely read back soon.
	double seq_share = 0;
	std::unordered_map<std::uint64_t, ExtentState> extents;
	std::vector<std::uint64_t> tr_touched; // extents with tr_heat > 0
	// Prefetch queue by extent; ordered_queue() sorts it: predicted access
	// time, then probability (descending).
	std::unordered_map<std::uint64_t, PrefetchEntry> queue;
	std::vector<PrefetchEntry> ordered_queue() const;
	PrefetchStats prefetch;
	// Adaptation window (since the last adjustment).
	std::uint64_t win_hits = 0, win_misses = 0;
	std::uint64_t write_frontier = 0; // first extent past the last first-write
	bool have_frontier = false;
	dm_tier_extent_cmd last_hint{};
	bool hint_sent = false;
	// Forecast tracking for re-tiering.
	std::uint32_t round_hot = 0, round_surprise = 0;
	bool retier = false;
	std::uint32_t retier_rounds = 0; // rounds of re-tiering left
	std::uint64_t retier_events = 0;
	// Phases of the hot set; extents to bring to tier 0 for a phase
	// change (migrations) and for the forecast next phase (prefetches).
	PhaseTracker phases;
	std::vector<std::uint64_t> round_touched; // extents with round_tr > 0
	std::vector<std::uint64_t> phase_targets, phase_forecast;
	double phase_forecast_ms = 0; // predicted start of the forecast phase
	std::int64_t phase_round = 0;	// round of the last phase change
	std::uint64_t phase_moves = 0, phase_prefetches = 0;
	// Predictor and its accuracy (top-depth hit of the next transition).
	std::unique_ptr<predictor::Predictor> predictor;
	bool warm_started = false; // the LSTM started from a saved model file
	// Saved predictor state (load_learnt) waiting for the predictor.
	std::string saved_model;
	std::vector<char> saved_state;
	bool restored = false; // the predictor started from saved_state
	predictor::TransitionFilter filter;
	std::vector<predictor::Prediction> last_pred;
	std::uint32_t pred_skipped = 0; // transitions since predictions were last acted on
	std::uint64_t pred_checked = 0, pred_correct = 0;
	std::uint64_t transitions = 0;
	double profile_ms = -1;

	double score(const ExtentState &e, double now_ms, double half_life_ms, double w) const;
	std::string predictor_name() const;
};

class PoolPlanner {
public:
	PoolPlanner(std::string pool, PlannerConfig cfg = {});

	const std::string &pool() const { return pool_; }
	const PlannerConfig &config() const { return cfg_; }
	void set_config(const PlannerConfig &c);

	// Pool geometry and use (GET_POOL), refreshed every round.
	void update_pool(const PoolInfo &info);
	const PoolInfo &pool_info() const { return info_; }
	std::uint64_t extent_bytes() const { return info_.extent_sectors * 512; }

	// A volume's settings (GET_VOLUME); creates its state.  size_extents: 0
	// if unknown.
	void update_volume(const VolumeInfo &v, std::uint64_t size_extents);
	void forget_volume(std::uint32_t id);
	// The kernel's complete heat map of a volume (DUMP_HEAT), at start.
	void load_heat(std::uint32_t volume, const std::vector<dm_tier_heat_entry> &heat, double now_ms);

	// Reports.
	void on_heat(const nl::HeatReport &r, double now_ms);
	void on_profile(const nl::ProfileReport &r, double now_ms);
	void on_transitions(const nl::TransitionsReport &r, double now_ms);
	void on_migrations(const nl::MigrationDoneReport &r);

	// Decide a round (no kernel involved).
	Plan plan(double now_ms);
	// Decide and send: migrations, prefetches, hints, as batches.
	Plan run_round(Kernel &k, double now_ms);
	// Hints are in-memory in the kernel: send them all again next round
	// (after re-registering).
	void resend_hints();

	std::map<std::uint32_t, VolumeState> &volumes() { return vols_; }
	const std::map<std::uint32_t, VolumeState> &volumes() const { return vols_; }
	VolumeState *volume(std::uint32_t id);
	std::uint64_t round() const { return round_; }
	// The shadow evidence the pool's `auto` volumes share (null before the
	// first one).
	const predictor::SelectorPool *selector_pool() const { return selector_pool_.get(); }
	// The pool's transitions/s (last full second of report time), whether
	// that makes it busy (see busy_rate) and then 1 in how many
	// transitions' predictions are acted on.
	double transition_rate() const { return rate_; }
	bool busy() const { return busy_; }
	std::uint32_t prediction_stride() const { return pred_stride_; }

	// Counters.
	std::uint64_t migrations_sent = 0, prefetches_sent = 0, hints_sent = 0;
	std::uint64_t migrations_done = 0, migrations_failed = 0, bytes_moved = 0;
	std::uint64_t rejected = 0, transitions = 0, drops = 0;
	std::uint64_t fast_hits = 0, fast_accesses = 0; // transitions of mapped extents on tier 0

	// LSTM models (a forced "lstm" predictor, or the selector's LSTM
	// candidate) are saved in dir as model-<pool>-<volume>.model and a
	// volume's predictor starts from its file when there is one.
	void set_model_dir(std::string dir) { model_dir_ = std::move(dir); }
	std::string model_path(std::uint32_t volume) const;
	// Saves every volume's LSTM; returns how many were saved, or the first
	// error.
	[[nodiscard]] Result<std::size_t> save_models();

	// What the predictors (the baselines, the selector's choice and
	// scores) and the phase trackers learnt, in dir as
	// learnt-<pool>.state: a model file (predictor/model_file.h) of kind
	// "tierd-learnt", versioned and checksummed.  save_learnt returns how
	// many volumes were saved; load_learnt refuses a corrupt, foreign or
	// other pool's file as a whole, with the reason; a volume's predictor
	// state is applied when its predictor is built, if the model matches.
	std::string learnt_path() const;
	[[nodiscard]] Result<std::size_t> save_learnt();
	[[nodiscard]] Status load_learnt();

	// Persistent state (heat, placement knowledge, prefetch tuning,
	// counters) as JSON; from_json keeps what parses.
	nlohmann::json to_json(double now_ms) const;
	[[nodiscard]] Status from_json(const nlohmann::json &j, double now_ms);

private:
	VolumeState &vol(std::uint32_t id);
	void ensure_predictor(VolumeState &v);
	void build_predictor(VolumeState &v);
	void adapt_prefetch(VolumeState &v);
	void enqueue(VolumeState &v, const predictor::Prediction &p, double now_ms, double now_ns_to_ms);
	std::uint8_t hint_tier(const VolumeState &v) const;
	std::uint32_t policy_tier(const VolumeState &v) const;
	double observed_heat(const VolumeState &v, const dm_tier_heat_entry &h) const;
	void observe(VolumeState &v, ExtentState &e, double heat, std::uint32_t epoch, std::uint8_t tier,
		     std::uint8_t flags, double now_ms);
	bool sustained(const ExtentState &e) const;
	void track_phase(VolumeState &v, double now_ms);

	std::string pool_;
	PlannerConfig cfg_;
	PoolInfo info_;
	std::map<std::uint32_t, VolumeState> vols_;
	std::uint64_t round_ = 0;
	std::uint32_t epoch_ = 0; // the latest kernel epoch of a heat report
	std::uint32_t tr_serial_ = 0; // transitions reports received
	bool resend_hints_ = false;
	std::string model_dir_;
	std::vector<PrefetchEntry> trim_scratch_;
	std::shared_ptr<predictor::SelectorPool> selector_pool_;
	std::shared_ptr<predictor::TrainingBudget> own_budget_; // without cfg_.lstm_budget
	void note_rate(const nl::TransitionsReport &r);
	std::uint64_t rate_t0_ns_ = 0, rate_n_ = 0;
	double rate_ = 0;
	bool busy_ = false;
	std::uint32_t pred_stride_ = 1;
};

} // namespace dmtier::planner
