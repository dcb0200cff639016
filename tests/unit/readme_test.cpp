// SPDX-License-Identifier: Apache-2.0
// README.md's configuration tables and the code's variable table say the same:
// every variable read is in the main table, every ignored one in the
// "accepted for compatibility" table, and every variable those tables name is
// in the code's table.

#include <array>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include <doctest/doctest.h>

#include <autoscale/config.h>

#include "process.h"

namespace autoscale {
namespace {

/// The variables named in the first column of the tables of README's
/// "## Configuration" section: [0] before "### Accepted for compatibility",
/// [1] after it.
std::array<std::set<std::string>, 2> readmeTables(const std::string& readme) {
    std::array<std::set<std::string>, 2> tables;
    std::istringstream in(readme);
    std::string line;
    bool inSection = false;
    std::size_t table = 0;
    while (std::getline(in, line)) {
        if (line.starts_with("## ")) {
            inSection = line == "## Configuration";
            continue;
        }
        if (!inSection)
            continue;
        if (line.starts_with("### Accepted for compatibility"))
            table = 1;
        if (!line.starts_with("| `"))
            continue;
        const std::string cell = line.substr(1, line.find('|', 1) - 1);
        for (std::size_t open = cell.find('`'); open != std::string::npos;) {
            const std::size_t close = cell.find('`', open + 1);
            if (close == std::string::npos)
                break;
            const std::string name = cell.substr(open + 1, close - open - 1);
            if (name.starts_with("DRONE_") || name.starts_with("AWS_"))
                tables.at(table).insert(name);
            open = cell.find('`', close + 1);
        }
    }
    return tables;
}

TEST_CASE("README's configuration tables and the variable table agree") {
    const std::string path = test::testEnv("AUTOSCALE_README");
    REQUIRE_FALSE(path.empty());
    std::ifstream in(path);
    REQUIRE(in);
    std::stringstream buffer;
    buffer << in.rdbuf();
    const auto tables = readmeTables(buffer.str());
    REQUIRE_FALSE(tables[0].empty());
    REQUIRE_FALSE(tables[1].empty());
    for (const auto& v : configVariables()) {
        CAPTURE(v.name);
        const std::size_t expected = v.use == VariableUse::Read ? 0 : 1;
        CHECK(tables.at(expected).contains(std::string(v.name)));
    }
    for (std::size_t t = 0; t < tables.size(); ++t) {
        for (const auto& name : tables.at(t)) {
            CAPTURE(name);
            const VariableSpec* spec = findVariable(name);
            REQUIRE(spec != nullptr);
            CHECK((spec->use == VariableUse::Read) == (t == 0));
        }
    }
}

TEST_CASE("README documents every variable the code reads") {
    const std::string path = test::testEnv("AUTOSCALE_README");
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
