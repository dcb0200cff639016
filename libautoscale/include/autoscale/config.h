// SPDX-License-Identifier: Apache-2.0
/// \file
/// Configuration: a pure function from the process environment to a typed,
/// validated Config (SPEC §3). Nothing below main calls getenv.

#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <autoscale/model.h>
#include <autoscale/result.h>

namespace autoscale {

using Environment = std::map<std::string, std::string>;

/// The Drone server and the runner's connection back to it.
struct DroneSettings {
    std::string proto{}; ///< "http" or "https".
    std::string host{};  ///< host[:port].
    std::string token{}; ///< Admin token. Secret.

    /// proto://host
    [[nodiscard]] std::string baseUrl() const { return proto + "://" + host; }
};

/// How the runner container is started on each server (SPEC §7).
struct AgentSettings {
    std::string token{}; ///< DRONE_RPC_SECRET. Secret.
    std::string image = "drone/drone-runner-docker:1";
    std::vector<std::string> environ{}; ///< K=V, with bare K resolved from our environment.
    std::string envFile{};
    std::vector<std::string> volumes{};
    std::vector<std::string> publishedPorts{};
    std::string namePrefix = "agent-";
    // drone/autoscaler's DRONE_RUNNER_* pass-through settings.
    std::string runnerVolumes{};
    std::string runnerDevices{};
    std::string runnerPrivileged{};
    std::string runnerEnvFile{};
};

struct AmazonSettings {
    std::string region = "us-east-1";
    std::string image{};
    std::string instanceType = "t3.medium";
    std::vector<std::string> instanceTypesAlt{};
    std::string subnetId{};
    std::vector<std::string> subnetIdsAlt{};
    std::vector<std::string> securityGroups{};
    std::string sshKey{};
    bool privateIp = false;
    std::map<std::string, std::string> tags{};
    int volumeSize = 32;
    std::string volumeType = "gp3";
    std::optional<int> volumeIops{};
    std::optional<int> volumeThroughput{};
    std::string deviceName = "/dev/sda1";
    std::string iamProfileArn{};
    std::string iamProfileName{};
    std::string marketType{};
    std::string imdsTokens = "required";
    std::string userData{};     ///< Template text from DRONE_AMAZON_USERDATA or _FILE's path.
    std::string userDataFile{}; ///< Path; read by the caller, not by parseConfig.
    int retries = 3;
};

/// The standard AWS environment, handed to the credential chain untouched.
/// Secrets here are never logged.
struct AwsEnvironment {
    std::string accessKeyId{};
    std::string secretAccessKey{};
    std::string sessionToken{};
    std::string profile{};
    std::string sharedCredentialsFile{};
    std::string configFile{};
    std::string webIdentityTokenFile{};
    std::string roleArn{};
    std::string roleSessionName{};
    std::string containerCredentialsFullUri{};
    std::string containerCredentialsRelativeUri{};
    std::string containerAuthorizationToken{};
    std::string metadataServiceEndpoint{};
    bool metadataDisabled = false;
    bool iam = false; ///< AWS_IAM=true: drone/autoscaler's switch for role credentials.
    std::string endpointEc2{};
    std::string endpointSts{};
    std::string endpoint{};
    std::string home{}; ///< $HOME, for ~/.aws/credentials.

    /// True when any credential source is configured explicitly.
    [[nodiscard]] bool configured() const;
};

enum class HostKeyCheck { Pinned, Tofu };

struct SshSettings {
    std::string user = "root";
    int port = 22;
    std::string privateKeyFile{};
    HostKeyCheck hostKeyCheck = HostKeyCheck::Pinned;
};

struct Config {
    DroneSettings drone{};
    AgentSettings agent{};
    PoolSettings pool{};
    std::chrono::milliseconds interval{10000};
    AmazonSettings amazon{};
    AwsEnvironment aws{};
    SshSettings ssh{};
    std::chrono::milliseconds installCheckInterval{2000};
    std::chrono::milliseconds installCheckDeadline{600000};
    std::chrono::milliseconds timeoutStop{3600000};
    std::chrono::milliseconds pingerInterval{60000};
    std::string databaseDriver = "sqlite3";
    std::string databaseDatasource = "database.sqlite";
    std::string httpAddress = "0.0.0.0"; ///< From DRONE_HTTP_PORT ":8080" or "HOST:PORT".
    int httpPort = 8080;
    std::string prometheusToken{};
    std::string uiUsername{}; ///< DRONE_UI_USERNAME: the status page's user.
    std::string uiPassword{}; ///< DRONE_UI_PASSWORD (secret): /ui is off unless set.
    bool logsDebug = false;
    bool logsTrace = false;
    bool logsPretty = false;
    /// Non-fatal findings: unknown DRONE_* variables, accepted-but-ignored ones.
    std::vector<std::string> warnings{};
};

/// Which variables a command needs.
struct ConfigNeeds {
    bool drone = true;  ///< DRONE_SERVER_PROTO/HOST/TOKEN.
    bool agent = true;  ///< DRONE_AGENT_TOKEN.
    bool amazon = true; ///< DRONE_AMAZON_IMAGE.
};

/// Parses and validates every variable of SPEC §3. On failure the Error's
/// message holds one line per problem, each naming the variable, what is wrong
/// and what is expected; secret values are never quoted.
Result<Config> parseConfig(const Environment& env, ConfigNeeds needs = {});

/// Every variable parseConfig reads, in documentation order.
const std::vector<std::string_view>& knownVariables();

/// True for variables whose values are secrets.
bool isSecretVariable(std::string_view name);

/// Parses a Go duration ("90s", "1h30m", "500ms", "0"). Negative values are rejected.
std::optional<std::chrono::milliseconds> parseGoDuration(std::string_view text);

/// Formats a duration the way Go prints one ("1h30m0s", "10s", "500ms").
std::string formatGoDuration(std::chrono::milliseconds duration);

/// Parses true/false/1/0/yes/no (case-insensitive).
std::optional<bool> parseBool(std::string_view text);

/// Splits on commas, trimming blanks and dropping empty items.
std::vector<std::string> parseList(std::string_view text);

/// Parses "k1:v1,k2:v2", splitting each pair on its first colon. nullopt when
/// an item has no colon or an empty key.
std::optional<std::map<std::string, std::string>> parseMap(std::string_view text);

/// Levenshtein distance, for "did you mean" hints.
std::size_t editDistance(std::string_view a, std::string_view b);

} // namespace autoscale
