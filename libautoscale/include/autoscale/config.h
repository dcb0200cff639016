// SPDX-License-Identifier: Apache-2.0
/// \file
/// Configuration: a pure function from the process environment to a typed,
/// validated Config (SPEC §3). Nothing below main calls getenv.
///
/// Configuration flows one way: each concern declares its own settings struct
/// in its own header (DroneSettings in drone.h, AmazonSettings in
/// ec2_provider.h, AgentSettings and SshSettings in installer.h,
/// AwsEnvironment in aws_credentials.h, StoreSettings in store.h, ApiSettings
/// in api_server.h, PoolSettings in model.h, InterruptionSettings in
/// interruptions.h) and Config composes them; no
/// component includes this header. One table (configVariables()) describes
/// every variable once and drives parsing, the warnings and the README check.

#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <autoscale/api_server.h>
#include <autoscale/aws_credentials.h>
#include <autoscale/drone.h>
#include <autoscale/ec2_provider.h>
#include <autoscale/installer.h>
#include <autoscale/interruptions.h>
#include <autoscale/leader.h>
#include <autoscale/model.h>
#include <autoscale/result.h>
#include <autoscale/store.h>
#include <autoscale/values.h>

namespace autoscale {

/// Variable name → value, as the process environment holds them.
using Environment = std::map<std::string, std::string>;

/// One pool of the fleet: the settings a pool may set for itself (SPEC §3, the
/// pool file). Each starts from the environment's value (DRONE_*), then the
/// pool file's key.
struct PoolConfig {
    PoolSettings pool{};     ///< Name, platform, labels, min, max, concurrency, timings.
    AgentSettings agent{};   ///< The runner: image, environ, env file, volumes, name prefix.
    AmazonSettings amazon{}; ///< Image, types, subnets, groups, volume, tags, market.

    friend bool operator==(const PoolConfig&, const PoolConfig&) = default;
};

/// Everything SPEC §3's variables configure, composed of each concern's settings.
struct Config {
    DroneSettings drone{};
    AgentSettings agent{};
    PoolSettings pool{};
    std::chrono::milliseconds interval{10000}; ///< DRONE_INTERVAL.
    AmazonSettings amazon{};
    AwsEnvironment aws{};
    SshSettings ssh{};
    std::chrono::milliseconds installCheckInterval{2000};   ///< DRONE_INSTALL_CHECK_INTERVAL.
    std::chrono::milliseconds installCheckDeadline{600000}; ///< DRONE_INSTALL_CHECK_DEADLINE.
    std::chrono::milliseconds timeoutStop{3600000};         ///< DRONE_TIMEOUT_STOP.
    std::chrono::milliseconds pingerInterval{60000};        ///< DRONE_PINGER_INTERVAL.
    StoreSettings store{};
    HaSettings ha{};   ///< DRONE_HA_ID; empty: haIdentity() computes "<hostname>-<pid>".
    ApiSettings api{}; ///< DRONE_HTTP_PORT ":8080" or "HOST:PORT", DRONE_PROMETHEUS_AUTH_TOKEN.
    bool logsDebug = false;
    bool logsTrace = false;
    bool logsPretty = false;
    /// Non-fatal findings: unknown DRONE_* variables, accepted-but-ignored ones.
    std::vector<std::string> warnings{};
    /// DRONE_POOL_FILE: the YAML file describing several pools; empty for none.
    std::string poolFile{};
    /// The pool file's fleet-wide `max` on live servers across pools; unset: none.
    std::optional<int> fleetMax{};
    /// The pools, in the order stages are routed to them (file order). Without
    /// a pool file: one pool named "default" made of `pool`, `agent` and
    /// `amazon` above, exactly as the environment describes it.
    std::vector<PoolConfig> pools{};
    /// DRONE_AMAZON_INTERRUPTION_QUEUE and DRONE_RESTART_LOST_BUILDS.
    InterruptionSettings interruptions{};

    friend bool operator==(const Config&, const Config&) = default;
};

/// `config` with one pool's settings in place of the environment's (`pool`,
/// `agent`, `amazon`): what the wiring functions are given for that pool.
Config configForPool(const Config& config, const PoolConfig& pool);

/// Which variables a command needs.
struct ConfigNeeds {
    bool drone = true;  ///< DRONE_SERVER_PROTO/HOST/TOKEN.
    bool agent = true;  ///< DRONE_AGENT_TOKEN.
    bool amazon = true; ///< DRONE_AMAZON_IMAGE.
};

/// Whether a pool may set a variable for itself (the pool file, SPEC §3) or
/// it holds for the whole process.
enum class VariableScope {
    Global, ///< One value for the process.
    Pool,   ///< A pool in the pool file may override it.
};

/// What we do with a variable.
enum class VariableUse {
    Read,    ///< Parsed into Config.
    Ignored, ///< drone/autoscaler's, accepted for compatibility with a warning; `meaning` says why.
};

/// One row of the configuration table.
struct VariableSpec {
    std::string_view name{};
    /// The default as a value would be written ("2", "10m"), "" for none, or in
    /// parentheses what happens instead: "(required)", "(generated)".
    std::string_view defaultValue{};
    std::string_view meaning{}; ///< One line; for ignored variables, why.
    bool secret = false;        ///< Its value never appears in a message.
    VariableScope scope = VariableScope::Global;
    VariableUse use = VariableUse::Read;
};

/// Every variable, once, in documentation order: those read, then those
/// accepted for compatibility and ignored.
std::span<const VariableSpec> configVariables();

/// The row for `name`, or nullptr when it is not in the table.
const VariableSpec* findVariable(std::string_view name);

/// Parses and validates every variable of SPEC §3. On failure the Error's
/// message holds one line per problem, each naming the variable, what is wrong
/// and what is expected; secret values are never quoted.
Result<Config> parseConfig(const Environment& env, ConfigNeeds needs = {});

/// Applies a pool file (SPEC §3, README "Pools") to `base`, the Config parseConfig
/// made from the environment: `pools` becomes the file's pools, in file order,
/// and `fleetMax` its `max`. Each key a pool leaves out (or sets to null) keeps
/// the environment's value from `base`; each key is read by its DRONE_*
/// variable's reader, so values are checked as that variable's are. A pool's
/// servers are named "<name>-" + 8 characters unless it sets `name_prefix`.
/// `base`'s own `pool`, `agent` and `amazon` are kept (the environment's).
///
/// Pure: no file is read; `path` only names the file in messages. `env` is the
/// process environment, from which a bare `K` of `runner.environ` is copied.
/// With `needs.amazon`, a pool without an image (neither `amazon.image` nor
/// DRONE_AMAZON_IMAGE) is a problem.
///
/// Errc::InvalidArgument when anything is wrong: one line per problem, all of
/// them, each "PATH:LINE: KEY: what is wrong" (KEY as `pools[1].amazon.image`),
/// in line order; an unknown key names the closest known one. Secret values
/// (`user_data`) are never quoted.
Result<Config> applyPoolFile(Config base, std::string_view yamlText, const std::string& path,
                             ConfigNeeds needs = {}, const Environment& env = {});

/// What the tools call: parseConfig, then, when DRONE_POOL_FILE is set, that
/// file read and applied by applyPoolFile (DRONE_AMAZON_IMAGE is then optional
/// in the environment, each pool needing an image instead). Errc::InvalidArgument
/// with the environment's problems and the file's together (an unreadable file
/// is one line naming DRONE_POOL_FILE), then the warnings as "warning: ..."
/// lines. Reads only that one file.
Result<Config> loadConfig(const Environment& env, ConfigNeeds needs = {});

/// Every variable parseConfig reads, in documentation order.
const std::vector<std::string_view>& knownVariables();

/// True for variables whose values are secrets.
bool isSecretVariable(std::string_view name);

/// The optimal-string-alignment (restricted Damerau–Levenshtein) distance:
/// insertions, deletions, substitutions and transpositions of two adjacent
/// characters each cost 1. For "did you mean" hints.
std::size_t editDistance(std::string_view a, std::string_view b);

/// The known name closest to `name` by editDistance() among `candidates`
/// (the first of equals); empty when there is none.
std::string_view closestName(std::string_view name, std::span<const std::string_view> candidates);

} // namespace autoscale
