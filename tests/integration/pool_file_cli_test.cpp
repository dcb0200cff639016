// SPDX-License-Identifier: Apache-2.0
// The pool file through the real binaries: a file with the issue's three
// mistakes stops `autoscaler serve` (and `plan`, `simulate`) with status 2,
// every mistake on stderr with its line and key, before any call to Drone or
// EC2 (one loopback fake stands for both and must see no request) and before
// the database or our SSH key is created.

#include <filesystem>
#include <fstream>

#include <doctest/doctest.h>

#include "doctest_support.h"
#include "fake_http_server.h"
#include "process.h"
#include "temp_dir.h"

namespace autoscale {
namespace {

using namespace std::chrono_literals;

/// The issue's acceptance file: a duplicate name (line 12), `max: -1` (line 10)
/// and `insance_types` (line 8).
constexpr const char* kThreeMistakes = R"(version: 1
max: 5
pools:
  - name: amd64
    platform: {os: linux, arch: amd64}
    max: 3
    amazon:
      insance_types: [t3.medium]
  - name: arm64
    max: -1
    amazon: {image: ami-0def5678, instance_types: [t4g.medium]}
  - name: amd64
    labels: {gpu: "yes"}
)";

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

struct Fixture {
    test::TempDir dir;
    test::FakeHttpServer fake; ///< Drone, EC2, STS and IMDS at once: must hear nothing.
    std::string poolFile = dir.file("pools.yml");
    std::string database = dir.file("database.sqlite");

    Fixture() {
        fake.on("*", "*", [](const test::RecordedRequest&) { return test::FakeReply{}; });
        std::ofstream(poolFile) << kThreeMistakes;
    }

    [[nodiscard]] std::map<std::string, std::string> env() const {
        const std::string host = "127.0.0.1:" + std::to_string(fake.port());
        return {{"DRONE_SERVER_PROTO", "http"},
                {"DRONE_SERVER_HOST", host},
                {"DRONE_SERVER_TOKEN", "admin-token-0123456789"},
                {"DRONE_AGENT_TOKEN", "rpc-secret-0123456789"},
                {"DRONE_AMAZON_IMAGE", "ami-0123456789abcdef0"},
                {"DRONE_POOL_MIN", "0"},
                {"DRONE_POOL_FILE", poolFile},
                {"DRONE_DATABASE_DATASOURCE", database},
                {"DRONE_HTTP_PORT", "127.0.0.1:" + std::to_string(test::freePort())},
                {"AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"},
                {"AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"},
                {"AWS_ENDPOINT_URL_EC2", fake.baseUrl()},
                {"AWS_ENDPOINT_URL", fake.baseUrl()},
                {"AWS_EC2_METADATA_SERVICE_ENDPOINT", fake.baseUrl()},
                {"HOME", dir.path().string()}};
    }

    /// The three mistakes, each with its file, line and key, and nothing else wrong.
    void checkReported(const std::string& err) const {
        CAPTURE(err);
        CHECK(contains(err, poolFile + ":8: pools[0].amazon.insance_types: unknown key; did you "
                                       "mean instance_types?"));
        CHECK(contains(err, poolFile + ":10: pools[1].max: \"-1\" is out of range"));
        CHECK(contains(err, poolFile + ":12: pools[2].name: \"amd64\" is also the name of "
                                       "pools[0] (line 4)"));
        std::size_t lines = 0;
        for (std::size_t at = err.find(poolFile + ":"); at != std::string::npos;
             at = err.find(poolFile + ":", at + 1))
            ++lines;
        CHECK(lines == 3);
        CHECK_FALSE(contains(err, "admin-token-0123456789"));
        CHECK_FALSE(contains(err, "rpc-secret-0123456789"));
    }

    /// No request reached the fake, and neither the database nor our key exists.
    void checkUntouched() const {
        CHECK(fake.requests().empty());
        CHECK_FALSE(std::filesystem::exists(database));
        std::size_t entries = 0;
        for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path()))
            ++entries;
        CHECK(entries == 1); // The pool file alone.
    }
};

TEST_CASE_FIXTURE(Fixture, "autoscaler serve with the three-mistake pool file exits 2 untouched") {
    const auto result = test::runProcess({test::testEnv("AUTOSCALER_BIN"), "serve"}, env(), 30s);
    REQUIRE_FALSE(result.timedOut);
    CHECK(result.exitCode == 2);
    checkReported(result.err);
    checkUntouched();
}

TEST_CASE_FIXTURE(Fixture, "plan and simulate refuse the same file with the same lines") {
    const std::string cli = test::testEnv("AUTOSCALER_CLI_BIN");
    const auto plan = test::runProcess({cli, "plan", "--json"}, env(), 30s);
    CHECK(plan.exitCode == 2);
    checkReported(plan.err);
    const std::string trace = dir.file("trace.jsonl");
    std::ofstream(trace) << "";
    const auto simulate = test::runProcess({cli, "simulate", "--trace", trace}, env(), 30s);
    CHECK(simulate.exitCode == 2);
    checkReported(simulate.err);
    CHECK(fake.requests().empty());
    CHECK_FALSE(std::filesystem::exists(database));
}

TEST_CASE_FIXTURE(Fixture, "the same file corrected is accepted by plan") {
    std::ofstream(poolFile) << R"(version: 1
max: 5
pools:
  - name: amd64
    platform: {os: linux, arch: amd64}
    max: 3
    amazon:
      instance_types: [t3.medium]
  - name: arm64
    max: 1
    amazon: {image: ami-0def5678, instance_types: [t4g.medium]}
  - name: gpu
    labels: {gpu: "yes"}
)";
    // plan with a queue file, a servers file and no AWS credentials calls nobody.
    auto e = env();
    std::erase_if(e, [](const auto& entry) { return entry.first.starts_with("AWS_"); });
    const std::string queue = dir.file("queue.json");
    const std::string servers = dir.file("servers.json");
    std::ofstream(queue) << "[]";
    std::ofstream(servers) << "[]";
    const auto plan = test::runProcess({test::testEnv("AUTOSCALER_CLI_BIN"), "plan", "--json",
                                        "--queue-file", queue, "--servers-file", servers},
                                       e, 30s);
    CAPTURE(plan.err);
    CHECK(plan.exitCode == 0);
    CHECK_FALSE(contains(plan.err, "bad configuration"));
    CHECK(fake.requests().empty());
}

} // namespace
} // namespace autoscale
