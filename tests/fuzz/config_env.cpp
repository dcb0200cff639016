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

/// The error, or the warnings, parseConfig gives for `env`, as one text.
std::string everythingSaid(const Environment& env, ConfigNeeds needs) {
    const auto config = parseConfig(env, needs);
    if (!config)
        return config.error().message;
    std::string out;
    for (const auto& warning : config->warnings)
        out += warning + "\n";
    return out;
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
    std::vector<std::pair<std::string, std::string>> secrets; // (name, value)
    for (const auto& [name, value] : env) {
        if (value.size() < 12 || !isSecretVariable(name))
            continue;
        bool elsewhere = false;
        for (const auto& [other, otherValue] : env)
            elsewhere = elsewhere || (other != name && mentions(otherValue, value));
        if (!elsewhere)
            secrets.emplace_back(name, value);
    }
    for (const ConfigNeeds needs : {ConfigNeeds{}, ConfigNeeds{false, false, false}}) {
        const std::string said = everythingSaid(env, needs);
        for (const auto& [name, secret] : secrets) {
            if (!mentions(said, secret))
                continue;
            // The same text with the secret replaced: if it still holds the
            // secret's characters, they are the message's own (an example such
            // as "ami-0123456789abcdef0"), not the secret's value.
            Environment other = env;
            other[name] = std::string(secret.size(), '#');
            fuzz::require(mentions(everythingSaid(other, needs), secret));
        }
    }
    return 0;
}
