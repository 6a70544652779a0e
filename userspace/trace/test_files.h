// SPDX-License-Identifier: GPL-2.0
// Test helpers: temporary files, optionally compressed.
#pragma once

#include <string>

#include "trace/input.h"

namespace dmtier::trace::testing {

// Writes data to a fresh temporary file compressed with c; returns its path.
// The file is removed by the destructor.
class TempFile {
public:
	TempFile(const std::string &data, Compression c = Compression::none,
		 const std::string &suffix = "");
	~TempFile();
	TempFile(const TempFile &) = delete;
	TempFile &operator=(const TempFile &) = delete;
	const std::string &path() const { return path_; }

private:
	std::string path_;
};

std::string compress(const std::string &data, Compression c);

} // namespace dmtier::trace::testing
