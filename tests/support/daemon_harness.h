// SPDX-License-Identifier: Apache-2.0
/// \file
/// What the end-to-end tests of `autoscaler serve` share: the base
/// environment (the fake Drone, the fake EC2 on loopback, SSH as root with
/// trust on first use, the API on a loopback port), SSH hosts for the fake
/// instances, starting the daemon, and its REST API read with the admin token.
/// Each test adds what its case needs (spot, PostgreSQL, a pool file) to the map.

#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <autoscale/http.h>
#include <autoscale/model.h>
#include <autoscale/result.h>

#include "fake_drone.h"
#include "fake_ec2.h"
#include "process.h"
#include "sshd_harness.h"
#include "temp_dir.h"

namespace autoscale::test {

/// The RPC secret every end-to-end daemon's agents are given.
inline constexpr const char* kDaemonRpcSecret = "rpc-secret-e2e-0123456789";

/// `autoscaler serve`'s environment: Drone `drone`, EC2 `ec2` (private
/// addresses), min 0, max 4, concurrency 2, a 1 s interval, a 3 s idle
/// timeout, SSH as root (tofu), SQLite in `dir`, the API on 127.0.0.1:`port`,
/// static test credentials and no instance metadata.
std::map<std::string, std::string> daemonEnv(const FakeDrone& drone, const FakeEc2& ec2,
                                             const TempDir& dir, int port);

/// Starts `hostCount` sshd on loopback that trust the daemon's client key
/// (created in `dir`, where the daemon finds it through HOME); returns their
/// "127.0.0.1:PORT" addresses. Skips the test (exit 77) without sshd.
std::vector<std::string> startSshHosts(const TempDir& dir, int hostCount,
                                       std::vector<std::unique_ptr<SshdHarness>>& hosts);

/// Starts `autoscaler serve` (AUTOSCALER_BIN) with `env`, its output in dir/`log`.
std::unique_ptr<BackgroundProcess> startDaemon(const TempDir& dir,
                                               const std::map<std::string, std::string>& env,
                                               const std::string& log = "daemon.log");

/// One request to the daemon's API on 127.0.0.1:`port`, with `token` as the bearer
/// (none when empty).
Result<HttpResponse> daemonApi(HttpClient& http, int port, const std::string& method,
                               const std::string& path,
                               const std::string& token = FakeDrone::kAdminToken);

/// GET /api/servers; empty when the daemon does not answer.
std::vector<Server> daemonServers(HttpClient& http, int port);

/// `n` pending linux/amd64 stages with ids first, first + 1, ...
std::vector<Stage> pendingStages(int n, int first = 1);

} // namespace autoscale::test
