// SPDX-License-Identifier: GPL-2.0
// Result<T> moved to userspace/common/result.h (shared by every library).
#pragma once

#include "common/result.h"
