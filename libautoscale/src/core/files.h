// SPDX-License-Identifier: Apache-2.0
/// \file
/// Reading a whole file, defined once. Private to libautoscale.

#pragma once

#include <string>

#include <autoscale/result.h>

namespace autoscale::detail {

/// The bytes of the file at `path`. Errc::Io naming the path and the reason
/// (e.g. "cannot read /x: No such file or directory") when it cannot be read.
Result<std::string> readFile(const std::string& path);

} // namespace autoscale::detail
