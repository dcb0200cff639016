// SPDX-License-Identifier: Apache-2.0
/// \file
/// Fuzzes parseConfig over an environment built from the input ("NAME=value"
/// lines, the first 32 variables). A secret's value never appears in the error or the warnings.

#include <string>

#include <autoscale/config.h>

#include "fuzz_input.h"

using namespace autoscale;

namespace {

bool mentions(const std::string& text, const std::string& secret) {
    return text.find(secret) != std::string::npos;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // At most 32 variables: each unknown one costs an edit distance against every
    // known name, and more of them find nothing new, only slow the run down.
    Environment env;
    for (const std::string_view line : fuzz::linesOf(fuzz::textOf(data, size))) {
        const auto [name, value] = fuzz::splitFirst(line, '=');
        // Names of at most 64 bytes: the typo suggestion is quadratic in the name's
        // length (fine for an operator's environment, slow for fuzzing).
        env[std::string(name.substr(0, 64))] = std::string(value);
        if (env.size() == 32)
            break;
    }
    // Secrets long enough not to appear by chance, and not in any other value.
    std::vector<std::string> secrets;
    for (const auto& [name, value] : env) {
        if (value.size() < 12 || !isSecretVariable(name))
            continue;
        bool elsewhere = false;
        for (const auto& [other, otherValue] : env)
            elsewhere = elsewhere || (other != name && mentions(otherValue, value));
        if (!elsewhere)
            secrets.push_back(value);
    }
    for (const ConfigNeeds needs : {ConfigNeeds{}, ConfigNeeds{false, false, false}}) {
        const auto config = parseConfig(env, needs);
        for (const auto& secret : secrets) {
            if (!config) {
                fuzz::require(!mentions(config.error().message, secret));
                continue;
            }
            for (const auto& warning : config->warnings)
                fuzz::require(!mentions(warning, secret));
        }
    }
    return 0;
}
