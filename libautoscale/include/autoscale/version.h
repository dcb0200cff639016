// SPDX-License-Identifier: Apache-2.0
/// \file
/// Which build this is: the project version and the git commit, both stamped
/// by meson (project() and vcs_tag) into a generated source file.

#pragma once

#include <string_view>

namespace autoscale {

/// The project version from meson's project(), e.g. "0.1.0".
std::string_view buildVersion();

/// The git commit the library was built from: 12 hex digits, with "-dirty"
/// when the work tree had uncommitted changes; empty when not built from a
/// git checkout.
std::string_view buildCommit();

} // namespace autoscale
