// SPDX-License-Identifier: Apache-2.0
// The version and git commit stamped by meson: every tool's --version and the
// daemon's GET /version.

#include <csignal>
#include <filesystem>

#include <doctest/doctest.h>

#include <autoscale/http.h>
#include <autoscale/version.h>

#include "doctest_support.h"
#include "fake_drone.h"
#include "fake_ec2.h"
#include "process.h"
#include "temp_dir.h"

namespace autoscale {
namespace {

using namespace std::chrono_literals;

/// True when the tree the tests were built from is a git checkout (a clone
/// has a .git directory, a worktree a .git file).
bool builtFromGit() {
    const std::filesystem::path readme = test::testEnv("AUTOSCALE_README");
    return std::filesystem::exists(readme.parent_path() / ".git");
}

TEST_CASE("the build knows its version and, in a git checkout, its commit") {
    CHECK_FALSE(buildVersion().empty());
    if (builtFromGit()) {
        REQUIRE(buildCommit().size() >= 12);
        CHECK(buildCommit().substr(0, 12).find_first_not_of("0123456789abcdef") ==
              std::string_view::npos);
    }
}

TEST_CASE("every tool answers --version with the version and the commit, exit 0") {
    const std::string expected =
            std::string(buildVersion()) +
            (buildCommit().empty() ? std::string()
                                   : " (commit " + std::string(buildCommit()) + ")");
    for (const auto& [variable, tool] : {std::pair{"AUTOSCALER_BIN", "autoscaler"},
                                         std::pair{"AUTOSCALER_CLI_BIN", "autoscaler-cli"},
                                         std::pair{"AUTOSCALER_ADMIN_BIN", "autoscaler-admin"}}) {
        const char* name = tool;
        CAPTURE(name);
        const auto result = test::runProcess({test::testEnv(variable), "--version"}, {}, 10s);
        CHECK(result.exitCode == 0);
        CHECK(result.out == std::string(tool) + " " + expected + "\n");
    }
}

TEST_CASE("GET /version answers source, version and commit") {
    test::TempDir dir;
    const auto clock = makeSystemClock();
    test::FakeDrone drone;
    test::FakeEc2 ec2(*clock);
    const int port = test::freePort();
    const std::map<std::string, std::string> env = {
            {"DRONE_SERVER_PROTO", "http"},
            {"DRONE_SERVER_HOST", drone.host()},
            {"DRONE_SERVER_TOKEN", test::FakeDrone::kAdminToken},
            {"DRONE_AGENT_TOKEN", "rpc-secret-version-test"},
            {"DRONE_AMAZON_IMAGE", "ami-0123456789abcdef0"},
            {"DRONE_POOL_MIN", "0"},
            {"DRONE_DATABASE_DATASOURCE", dir.file("database.sqlite")},
            {"DRONE_HTTP_PORT", "127.0.0.1:" + std::to_string(port)},
            {"AWS_ACCESS_KEY_ID", test::kTestAccessKeyId},
            {"AWS_SECRET_ACCESS_KEY", test::kTestSecretKey},
            {"AWS_ENDPOINT_URL_EC2", ec2.endpoint()},
            {"AWS_EC2_METADATA_DISABLED", "true"},
            {"HOME", dir.path().string()}};
    test::BackgroundProcess daemon({test::testEnv("AUTOSCALER_BIN"), "serve"}, env,
                                   dir.file("daemon.log"));
    auto http = makeCurlHttpClient(HttpOptions{.totalTimeout = 5000ms, .protocols = "http"});
    REQUIRE(http);
    std::string body;
    const bool answered = test::waitFor(
            [&] {
                auto r = (*http)->send(
                        {.url = "http://127.0.0.1:" + std::to_string(port) + "/version"});
                if (!r || r->status != 200)
                    return false;
                body = r->body;
                return true;
            },
            30s);
    INFO(daemon.output());
    REQUIRE(answered);
    CHECK(body == "{\"source\":\"https://github.com/autoscale/autoscale\",\"version\":\"" +
                          std::string(buildVersion()) + "\",\"commit\":\"" +
                          std::string(buildCommit()) + "\"}");
    if (builtFromGit())
        CHECK_FALSE(buildCommit().empty());
    daemon.signal(SIGTERM);
    CHECK(daemon.wait(60s) == 0);
}

} // namespace
} // namespace autoscale
