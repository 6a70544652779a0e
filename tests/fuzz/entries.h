// SPDX-License-Identifier: GPL-2.0
// The input-handling functions of dm-tier's libFuzzer targets.  Each one is
// compiled twice: into its libFuzzer binary (fuzz_<name>, clang with
// -DDMTIER_FUZZ=ON) and into dmtier_fuzz_replay_test (the normal build),
// which runs it over the committed seed corpus and crafted bad inputs.
//
// An entry returns 0.  Bad input must give an error, never a crash; an
// entry that finds a broken invariant (an accepted input the library then
// mishandles) calls fuzz_fail(), which aborts so that both libFuzzer and
// CTest report it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dmtier::fuzz {

// userspace/metadata: a metadata image built from the input (see
// metadata_entry.cpp for the input format) is loaded, checked, repaired,
// written and loaded again.
int metadata(const std::uint8_t *data, std::size_t size);

// userspace/trace: the input as a trace file (plain or compressed) read in
// every format, detected or forced, and line by line through parse_line().
int trace(const std::uint8_t *data, std::size_t size);

// userspace/tierd api: the input as HTTP requests (method, path with query,
// body, remote / token) handed to Api::handle with a fake backend.
int api(const std::uint8_t *data, std::size_t size);

// userspace/tierd config (tierd.conf) and userspace/boot pool files: the
// input as TOML text.
int config(const std::uint8_t *data, std::size_t size);

[[noreturn]] void fail(const char *target, const char *what);

} // namespace dmtier::fuzz
