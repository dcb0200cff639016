// SPDX-License-Identifier: Apache-2.0
/// \file
/// parseConfig: every variable of the table read into Config, the checks that
/// involve two variables, and warnings for the DRONE_* variables we do not
/// read. All problems are reported together. Pure: reads only the map it is
/// given.

#include "autoscale/config.h"

#include <algorithm>
#include <limits>

#include "field.h"

namespace autoscale {

namespace {

/// Problems that involve more than one variable, each named after the one to change.
void checkCombinations(const Config& c, std::vector<std::string>& problems) {
    if (c.pool.min > c.pool.max) {
        problems.push_back("DRONE_POOL_MIN: " + std::to_string(c.pool.min) +
                           " is greater than DRONE_POOL_MAX (" + std::to_string(c.pool.max) +
                           "); expected DRONE_POOL_MIN <= DRONE_POOL_MAX");
    }
    if (!c.amazon.iamProfileArn.empty() && !c.amazon.iamProfileName.empty()) {
        problems.emplace_back("DRONE_AMAZON_IAM_PROFILE_NAME: is set together with "
                              "DRONE_AMAZON_IAM_PROFILE_ARN; expected only one of them");
    }
    if (!c.amazon.userData.empty() && !c.amazon.userDataFile.empty()) {
        problems.emplace_back("DRONE_AMAZON_USERDATA_FILE: is set together with "
                              "DRONE_AMAZON_USERDATA; expected only one of them");
    }
    if (!c.aws.accessKeyId.empty() && c.aws.secretAccessKey.empty()) {
        problems.emplace_back("AWS_SECRET_ACCESS_KEY: is not set but AWS_ACCESS_KEY_ID is; "
                              "expected both or neither");
    }
    if (c.aws.accessKeyId.empty() && !c.aws.secretAccessKey.empty()) {
        problems.emplace_back("AWS_ACCESS_KEY_ID: is not set but AWS_SECRET_ACCESS_KEY is; "
                              "expected both or neither");
    }
}

/// The DRONE_* variables we read, the candidates of "did you mean".
std::vector<std::string_view> droneVariables() {
    std::vector<std::string_view> names;
    for (const auto name : knownVariables()) {
        if (name.starts_with("DRONE_"))
            names.push_back(name);
    }
    return names;
}

/// One warning for each DRONE_* variable that is not read: ignored ones say
/// why, unknown ones name the closest variable we read.
std::vector<std::string> warningsFor(const Environment& env) {
    static const std::vector<std::string_view> candidates = droneVariables();
    std::vector<std::string> warnings;
    for (const auto& entry : env) {
        const std::string& name = entry.first;
        if (!name.starts_with("DRONE_"))
            continue;
        const VariableSpec* spec = findVariable(name);
        if (spec == nullptr) {
            warnings.push_back(name + ": unknown variable, ignored; did you mean " +
                               std::string(closestName(name, candidates)) + "?");
            continue;
        }
        switch (spec->use) {
        case VariableUse::Read:
            break;
        case VariableUse::Ignored:
            warnings.push_back(name +
                               ": accepted for compatibility with drone/autoscaler and ignored (" +
                               std::string(spec->meaning) + ")");
            break;
        }
    }
    return warnings;
}

} // namespace

std::size_t editDistance(std::string_view a, std::string_view b) {
    // Three rows of the optimal-string-alignment table: i-2, i-1 and i.
    std::vector<std::size_t> before(b.size() + 1);
    std::vector<std::size_t> previous(b.size() + 1);
    std::vector<std::size_t> current(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j)
        previous[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        current[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            current[j] = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                current[j] = std::min(current[j], before[j - 2] + 1);
        }
        std::swap(before, previous);
        std::swap(previous, current);
    }
    return previous[b.size()];
}

std::string_view closestName(std::string_view name, std::span<const std::string_view> candidates) {
    std::string_view best;
    std::size_t bestDistance = std::numeric_limits<std::size_t>::max();
    for (const auto candidate : candidates) {
        const std::size_t d = editDistance(name, candidate);
        if (d < bestDistance) {
            bestDistance = d;
            best = candidate;
        }
    }
    return best;
}

Config configForPool(const Config& config, const PoolConfig& pool) {
    Config c = config;
    c.pool = pool.pool;
    c.agent = pool.agent;
    c.amazon = pool.amazon;
    c.pools = {pool};
    return c;
}

Result<Config> parseConfig(const Environment& env, ConfigNeeds needs) {
    std::vector<std::string> problems;
    Config c = detail::parseEnvironment(env, needs, problems);
    if (!problems.empty())
        return makeError(Errc::InvalidArgument, detail::problemsMessage(problems, c.warnings));
    return c;
}

namespace detail {

Config parseEnvironment(const Environment& env, const ConfigNeeds& needs,
                        std::vector<std::string>& problems) {
    Config c;
    for (const auto& variable : variableTable()) {
        if (variable.bind == nullptr)
            continue;
        Field field(variable.spec, env, needs, problems);
        variable.bind(field, c);
    }
    checkCombinations(c, problems);
    c.pools = {PoolConfig{.pool = c.pool, .agent = c.agent, .amazon = c.amazon}};
    if (const auto home = env.find("HOME"); home != env.end())
        c.aws.home = home->second;
    c.warnings = warningsFor(env);
    return c;
}

std::string problemsMessage(const std::vector<std::string>& problems,
                            const std::vector<std::string>& warnings) {
    std::string message;
    for (const auto& p : problems)
        message += (message.empty() ? "" : "\n") + p;
    for (const auto& w : warnings)
        message += "\nwarning: " + w;
    return message;
}

} // namespace detail

} // namespace autoscale
