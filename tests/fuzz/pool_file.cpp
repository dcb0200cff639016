// SPDX-License-Identifier: Apache-2.0
/// \file
/// Fuzzes applyPoolFile over the input as a pool file. Nothing escapes (yaml-cpp
/// throws), every problem line names the file, an accepted file holds together
/// (names valid and unique, min <= max, the mins within the fleet max), and a
/// pool's user_data never appears in a message.

#include <algorithm>
#include <exception>
#include <set>
#include <string>
#include <vector>

#include <autoscale/config.h>

#include "fuzz_input.h"

#include <yaml-cpp/yaml.h>

using namespace autoscale;

namespace {

constexpr const char* kPath = "pools.yml";

const Environment& environment() {
    static const Environment env = {{"DRONE_POOL_MIN", "0"},
                                    {"DRONE_AMAZON_IMAGE", "ami-0123456789abcdef0"},
                                    {"DRONE_AMAZON_IAM_PROFILE_NAME", "ci"},
                                    {"HTTP_PROXY", "http://proxy:3128"}};
    return env;
}

const Config& base() {
    static const Config config =
            parseConfig(environment(), ConfigNeeds{false, false, false}).value();
    return config;
}

std::string said(std::string_view text, ConfigNeeds needs) {
    const auto config = applyPoolFile(base(), text, kPath, needs, environment());
    return config ? std::string() : config.error().message;
}

bool mentions(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

std::size_t occurrences(std::string_view text, std::string_view part) {
    std::size_t count = 0;
    for (auto at = text.find(part); at != std::string_view::npos; at = text.find(part, at + 1))
        ++count;
    return count;
}

/// The values of pools[*].amazon.user_data, as the reader would see them.
std::vector<std::string> userData(std::string_view text) {
    std::vector<std::string> out;
    try {
        const YAML::Node root = YAML::Load(std::string(text));
        if (!root.IsMap())
            return out;
        // Keys and values copied out of the iterators: `it->second` lives in a
        // temporary that ends with the full expression.
        for (auto top = root.begin(); top != root.end(); ++top) {
            const YAML::Node key = top->first;
            const YAML::Node pools = top->second;
            if (!key.IsScalar() || key.Scalar() != "pools" || !pools.IsSequence())
                continue;
            for (const YAML::Node& pool : pools) {
                if (!pool.IsMap())
                    continue;
                for (auto it = pool.begin(); it != pool.end(); ++it) {
                    const YAML::Node name = it->first;
                    const YAML::Node amazon = it->second;
                    if (!name.IsScalar() || name.Scalar() != "amazon" || !amazon.IsMap())
                        continue;
                    for (auto a = amazon.begin(); a != amazon.end(); ++a) {
                        const YAML::Node field = a->first;
                        const YAML::Node value = a->second;
                        if (field.IsScalar() && field.Scalar() == "user_data" && value.IsScalar())
                            out.push_back(value.Scalar());
                    }
                }
            }
        }
    } catch (const std::exception&) {
        out.clear();
    }
    return out;
}

void checkAccepted(const Config& config) {
    fuzz::require(!config.pools.empty());
    std::set<std::string> names;
    int mins = 0;
    for (const auto& pool : config.pools) {
        const std::string& name = pool.pool.name;
        fuzz::require(!name.empty() && name.size() <= 32);
        fuzz::require(std::all_of(name.begin(), name.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
        }));
        fuzz::require(names.insert(name).second);
        fuzz::require(pool.pool.min >= 0 && pool.pool.min <= pool.pool.max);
        fuzz::require(pool.pool.concurrency >= 1);
        fuzz::require(!pool.agent.namePrefix.empty());
        fuzz::require(pool.amazon.iamProfileArn.empty() || pool.amazon.iamProfileName.empty());
        fuzz::require(pool.amazon.userData.empty() || pool.amazon.userDataFile.empty());
        mins += pool.pool.min;
    }
    if (config.fleetMax)
        fuzz::require(*config.fleetMax >= 1 && mins <= *config.fleetMax);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text = fuzz::textOf(data, size);
    for (const ConfigNeeds needs : {ConfigNeeds{}, ConfigNeeds{false, false, false}}) {
        const auto config = applyPoolFile(base(), text, kPath, needs, environment());
        if (config) {
            checkAccepted(*config);
            continue;
        }
        fuzz::require(config.error().code == Errc::InvalidArgument);
        const std::string& message = config.error().message;
        fuzz::require(!message.empty());
        for (const auto line : fuzz::linesOf(message))
            fuzz::require(line.starts_with(kPath));
    }

    // A secret long enough not to be found by chance, written once and plainly
    // (no anchor could reuse it elsewhere): if a message holds it, the same
    // file with the secret's characters replaced must hold it too (then it is
    // the message's own text, not the secret).
    if (text.find('&') != std::string_view::npos)
        return 0;
    const std::string message = said(text, {});
    for (const auto& secret : userData(text)) {
        if (secret.size() < 12 || occurrences(text, secret) != 1 || !mentions(message, secret))
            continue;
        std::string other(text);
        other.replace(other.find(secret), secret.size(), std::string(secret.size(), 'Q'));
        fuzz::require(mentions(said(other, {}), secret));
    }
    return 0;
}
