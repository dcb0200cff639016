// SPDX-License-Identifier: Apache-2.0
// Every variable parseConfig reads is documented in README.md.

#include <fstream>
#include <sstream>

#include <doctest/doctest.h>

#include <autoscale/config.h>

#include "process.h"

namespace autoscale {
namespace {

TEST_CASE("README documents every variable the code reads") {
    const std::string path = test::testEnv("AUTOSCALE_README");
    REQUIRE_FALSE(path.empty());
    std::ifstream in(path);
    REQUIRE(in);
    std::stringstream buffer;
    buffer << in.rdbuf();
    const std::string readme = buffer.str();
    for (const auto name : knownVariables()) {
        CAPTURE(name);
        CHECK(readme.find("`" + std::string(name) + "`") != std::string::npos);
    }
}

} // namespace
} // namespace autoscale
