// SPDX-License-Identifier: Apache-2.0
/// \file
/// readFile.

#include "files.h"

#include <cerrno>
#include <fstream>
#include <sstream>
#include <system_error>

namespace autoscale::detail {

Result<std::string> readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return makeError(Errc::Io,
                         "cannot read " + path + ": " + std::generic_category().message(errno));
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad())
        return makeError(Errc::Io, "cannot read " + path);
    return text.str();
}

} // namespace autoscale::detail
