// SPDX-License-Identifier: Apache-2.0
/// \file
/// From a parsed Config to what each component is constructed with: the
/// functions the tools call between parseConfig() and running. This is the
/// one place where the configuration meets the components (which never
/// include config.h), so that the daemon, `plan`, `simulate` and the tests
/// build their options with the same tested code.

#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <autoscale/api_server.h>
#include <autoscale/config.h>
#include <autoscale/ec2_provider.h>
#include <autoscale/engine.h>
#include <autoscale/http.h>
#include <autoscale/installer.h>
#include <autoscale/log.h>
#include <autoscale/model.h>
#include <autoscale/result.h>
#include <autoscale/simulation.h>
#include <autoscale/ssh.h>

namespace autoscale {

/// DRONE_LOGS_TRACE, else DRONE_LOGS_DEBUG, else Info.
LogLevel logLevelOf(const Config& config);

/// HTTP options for Drone's API: only DRONE_SERVER_PROTO's scheme is allowed.
HttpOptions droneHttpOptions(const Config& config);

/// The EC2 provider's options: DRONE_AMAZON_*, the pool's name, the Drone host
/// as owner tag, DRONE_AMAZON_RETRIES attempts per call.
Ec2Options ec2OptionsFrom(const Config& config);

/// The AMI a provider that only lists instances is given when DRONE_AMAZON_IMAGE
/// is unset (the provider checks that it could launch; `plan` never launches).
inline constexpr std::string_view kPlaceholderImage = "ami-00000000000000000";

/// As ec2OptionsFrom, for a provider of which only list() is called (`plan`):
/// DRONE_AMAZON_IMAGE is optional, kPlaceholderImage standing in for it.
Ec2Options listOnlyEc2OptionsFrom(const Config& config);

/// The SSH installer's options from the configuration and our client key.
/// `envFileLines` is left empty: readInstallFiles() reads DRONE_AGENT_ENV_FILE.
SshInstallerOptions installerOptionsFrom(const Config& config, std::string clientPrivateKey);

/// The template values for one server: its name and, in pinned mode, its host
/// key pair (Server::hostKey / hostPrivateKey); in tofu mode the host key
/// values stay empty. `clientPublicKey` is our key's public line.
UserDataValues userDataValuesFor(const Server& server, const Config& config,
                                 const std::string& clientPublicKey);

/// The template to render: DRONE_AMAZON_USERDATA's text, else the file
/// DRONE_AMAZON_USERDATA_FILE names, else defaultUserDataTemplate().
/// Errc::Io naming the variable and the file when it cannot be read.
Result<std::string> userDataTemplateFor(const AmazonSettings& amazon);

/// What the daemon reads from files before any cloud or database call.
struct InstallFiles {
    std::string userDataTemplate{};          ///< userDataTemplateFor().
    std::vector<std::string> envFileLines{}; ///< DRONE_AGENT_ENV_FILE's KEY=VALUE lines.
    SshKeyPair clientKey{};                  ///< Our SSH key. Its private half is secret.
};

/// Reads the user-data template, DRONE_AGENT_ENV_FILE and
/// DRONE_SSH_PRIVATE_KEY_FILE, reporting every problem together as
/// Errc::InvalidArgument, one line each naming its variable. Without
/// DRONE_SSH_PRIVATE_KEY_FILE, the key at defaultClientKeyPath(`databasePath`)
/// is read, or created there; Errc::Io when that fails. With
/// DRONE_DATABASE_DRIVER=postgres DRONE_SSH_PRIVATE_KEY_FILE is required
/// (Errc::InvalidArgument naming it when unset).
Result<InstallFiles> readInstallFiles(const Config& config, const std::string& databasePath);

/// The engine's user-data function: renders `templateText` with
/// userDataValuesFor(). In pinned mode a server without a host key gets a
/// fresh one in its row first (the engine stores the row). Thread-safe; keeps
/// copies of what it needs from `config`.
UserDataFunction userDataFunction(const Config& config, std::string templateText,
                                  std::string clientPublicKey);

/// The engine's options: the pool, names, timings and image from the
/// configuration. `userData` is left empty (see userDataFunction()).
EngineOptions engineOptionsFrom(const Config& config);

/// The API's options: DRONE_HTTP_PORT, the /metrics token, DRONE_INTERVAL
/// for /healthz, and this build's version and commit.
ApiOptions apiOptionsFrom(const Config& config);

/// The SQLite database DRONE_DATABASE_DATASOURCE names, for the process lock
/// and the client key beside it; "" with DRONE_DATABASE_DRIVER=postgres (no
/// file: several daemons share the store, leader election replaces the
/// process lock, and readInstallFiles() requires DRONE_SSH_PRIVATE_KEY_FILE).
/// Errc::InvalidArgument naming DRONE_DATABASE_DRIVER for an unknown driver.
Result<std::string> databasePathOf(const Config& config);

/// This daemon's identity among those sharing a PostgreSQL store: DRONE_HA_ID,
/// else "<hostname>-<pid>".
std::string haIdentity(const Config& config);

/// The servers `plan` looks at: those in `serversFile` (what GET /api/servers
/// returns) when it is not empty, else those in the store opened read-only
/// (an absent database is an empty pool). Errors name the file.
Result<std::vector<Server>> readServers(const Config& config, const std::string& serversFile);

/// `simulate`'s options for one policy: the pool and timings of the
/// configuration. Classic gets drone/autoscaler's timings (5 m planning, 10 s
/// allocation, 55 m minimum age) unless DRONE_INTERVAL or DRONE_POOL_MIN_AGE
/// is set in `env`.
SimulationOptions simulationOptionsFrom(const Config& config, const Environment& env,
                                        Policy policy);

} // namespace autoscale
