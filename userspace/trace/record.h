// SPDX-License-Identifier: GPL-2.0
// The common trace record every parser produces.
#pragma once

#include <cstdint>

namespace dmtier::trace {

enum class Op : std::uint8_t { unknown = 0, read = 1, write = 2 };

struct Record {
	std::uint64_t time_ns = 0;   // since the trace's epoch (as stated by the trace)
	std::uint64_t offset = 0;    // bytes
	std::uint32_t length = 0;    // bytes
	std::uint32_t volume = 0;    // interned id, see TraceReader::volume_name()
	Op op = Op::unknown;
};

const char *op_name(Op op);

} // namespace dmtier::trace
