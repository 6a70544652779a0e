// SPDX-License-Identifier: GPL-2.0
// libFuzzer glue: DMTIER_FUZZ_ENTRY names the entry (entries.h) this
// binary fuzzes.
#include <cstdio>
#include <cstdlib>

#include "entries.h"

namespace dmtier::fuzz {

void fail(const char *target, const char *what)
{
	std::fprintf(stderr, "fuzz_%s: %s\n", target, what);
	std::abort();
}

} // namespace dmtier::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	return dmtier::fuzz::DMTIER_FUZZ_ENTRY(data, size);
}
