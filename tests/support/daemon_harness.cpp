// SPDX-License-Identifier: Apache-2.0
/// \file
/// The end-to-end daemon harness.

#include "daemon_harness.h"

#include <doctest/doctest.h>

#include <autoscale/json.h>
#include <autoscale/ssh.h>

namespace autoscale::test {

std::map<std::string, std::string> daemonEnv(const FakeDrone& drone, const FakeEc2& ec2,
                                             const TempDir& dir, int port) {
    return {{"DRONE_SERVER_PROTO", "http"},
            {"DRONE_SERVER_HOST", drone.host()},
            {"DRONE_SERVER_TOKEN", FakeDrone::kAdminToken},
            {"DRONE_AGENT_TOKEN", kDaemonRpcSecret},
            {"DRONE_AMAZON_IMAGE", "ami-0123456789abcdef0"},
            {"DRONE_AMAZON_PRIVATE_IP", "true"},
            {"DRONE_POOL_MIN", "0"},
            {"DRONE_POOL_MAX", "4"},
            {"DRONE_AGENT_CONCURRENCY", "2"},
            {"DRONE_INTERVAL", "1s"},
            {"DRONE_POOL_IDLE_TIMEOUT", "3s"},
            {"DRONE_INSTALL_CHECK_INTERVAL", "200ms"},
            {"DRONE_SSH_HOST_KEY_CHECK", "tofu"},
            {"DRONE_SSH_USER", "root"},
            {"DRONE_DATABASE_DATASOURCE", dir.file("database.sqlite")},
            {"DRONE_HTTP_PORT", "127.0.0.1:" + std::to_string(port)},
            {"AWS_ACCESS_KEY_ID", kTestAccessKeyId},
            {"AWS_SECRET_ACCESS_KEY", kTestSecretKey},
            {"AWS_ENDPOINT_URL_EC2", ec2.endpoint()},
            {"AWS_EC2_METADATA_DISABLED", "true"},
            {"HOME", dir.path().string()}};
}

std::vector<std::string> startSshHosts(const TempDir& dir, int hostCount,
                                       std::vector<std::unique_ptr<SshdHarness>>& hosts) {
    const auto key = loadOrCreateClientKey(dir.file("id_ed25519"));
    REQUIRE(key);
    std::vector<std::string> addresses;
    for (int i = 0; i < hostCount; ++i) {
        hosts.push_back(startSshdOrSkip());
        hosts.back()->authorize(key->publicKey);
        addresses.push_back("127.0.0.1:" + std::to_string(hosts.back()->port()));
    }
    return addresses;
}

std::unique_ptr<BackgroundProcess> startDaemon(const TempDir& dir,
                                               const std::map<std::string, std::string>& env,
                                               const std::string& log) {
    return std::make_unique<BackgroundProcess>(
            std::vector<std::string>{testEnv("AUTOSCALER_BIN"), "serve"}, env, dir.file(log));
}

Result<HttpResponse> daemonApi(HttpClient& http, int port, const std::string& method,
                               const std::string& path, const std::string& token) {
    HttpRequest r{.method = method, .url = "http://127.0.0.1:" + std::to_string(port) + path};
    if (!token.empty())
        r.headers.emplace_back("Authorization", "Bearer " + token);
    return http.send(r);
}

std::vector<Server> daemonServers(HttpClient& http, int port) {
    auto r = daemonApi(http, port, "GET", "/api/servers");
    if (!r || r->status != 200)
        return {};
    return parseServersJson(r->body).value_or(std::vector<Server>{});
}

std::vector<Stage> pendingStages(int n, int first) {
    std::vector<Stage> out;
    out.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i)
        out.push_back({.id = first + i, .status = "pending", .os = "linux", .arch = "amd64"});
    return out;
}

} // namespace autoscale::test
