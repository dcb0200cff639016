// SPDX-License-Identifier: Apache-2.0
/// \file
/// `autoscaler-admin` with pools, as a process against a loopback fake of the
/// daemon's REST API: the POOL (and MARKET) columns, `servers ls --pool`,
/// `servers create --pool` and `plan` with several pools.

#include <mutex>

#include <doctest/doctest.h>

#include <autoscale/json.h>

#include "doctest_support.h"
#include "fake_http_server.h"
#include "process.h"

namespace autoscale {
namespace {

using namespace std::chrono_literals;

bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

struct AdminFixture {
    std::string admin = test::testEnv("AUTOSCALER_ADMIN_BIN");
    std::vector<Server> servers = {
            {.name = "amd64-aaaa1111", .pool = "amd64", .state = ServerState::Running},
            {.name = "arm64-bbbb2222", .pool = "arm64", .state = ServerState::Booting},
            {.name = "gpu-cccc3333", .pool = "gpu", .state = ServerState::Running},
    };
    std::string planBody{};
    /// The fake daemon answers on its own thread: the tests change what it
    /// serves under this lock.
    std::mutex mutex;
    /// Declared last so it is destroyed first: its thread is joined before
    /// the members its handlers read are freed.
    test::FakeHttpServer daemon;

    AdminFixture() {
        daemon.on("GET", "/api/servers", [this](const test::RecordedRequest&) {
            const std::lock_guard lock(mutex);
            return test::FakeReply{.body = serversToJson(servers)};
        });
        daemon.on("POST", "/api/servers", [](const test::RecordedRequest& r) {
            if (r.query == "pool=nope")
                return test::FakeReply{.status = 404, .body = messageJson("no pool named nope")};
            const std::string pool = r.query.starts_with("pool=") ? r.query.substr(5) : "amd64";
            return test::FakeReply{
                    .body = serverToJson({.name = pool + "-dddd4444", .pool = pool})};
        });
        daemon.on("GET", "/api/plan", [this](const test::RecordedRequest&) {
            const std::lock_guard lock(mutex);
            return test::FakeReply{.body = planBody};
        });
    }

    [[nodiscard]] test::ProcessResult run(std::vector<std::string> args) const {
        args.insert(args.begin(), admin);
        return test::runProcess(
                args,
                {{"DRONE_AUTOSCALER", daemon.baseUrl()}, {"DRONE_TOKEN", "admin-token-0123456789"}},
                30s);
    }
};

TEST_CASE_FIXTURE(AdminFixture, "servers ls shows each server's pool, and MARKET only when set") {
    REQUIRE_FALSE(admin.empty());
    const auto table = run({"servers", "ls"});
    CAPTURE(table.err);
    REQUIRE(table.exitCode == 0);
    CHECK(table.out.starts_with("NAME            POOL   STATE"));
    CHECK_FALSE(has(table.out, "MARKET"));
    CHECK(has(table.out, "\narm64-bbbb2222  arm64  "));
    CHECK(has(table.out, "\ngpu-cccc3333    gpu    "));

    {
        const std::lock_guard lock(mutex);
        servers[2].market = "spot";
    }
    const auto spot = run({"servers", "ls"});
    REQUIRE(spot.exitCode == 0);
    CHECK(has(spot.out, "  SIZE  MARKET  REGION  "));
    CHECK(has(spot.out, "  spot  "));
}

TEST_CASE_FIXTURE(AdminFixture,
                  "servers ls --pool keeps that pool's servers; --json keeps its shape") {
    const auto arm = run({"servers", "ls", "--pool", "arm64"});
    REQUIRE(arm.exitCode == 0);
    CHECK(has(arm.out, "arm64-bbbb2222"));
    CHECK_FALSE(has(arm.out, "amd64-aaaa1111"));
    CHECK_FALSE(has(arm.out, "gpu-cccc3333"));

    const auto json = run({"--json", "servers", "ls", "--pool", "gpu"});
    REQUIRE(json.exitCode == 0);
    auto rows = parseServersJson(json.out);
    REQUIRE(rows.has_value());
    REQUIRE(rows->size() == 1);
    CHECK(rows->front().name == "gpu-cccc3333");
    CHECK(rows->front().pool == "gpu");
    CHECK(json.out.starts_with("[{"));
    CHECK(has(json.out, "\"pool\":\"gpu\""));

    const auto all = run({"--json", "servers", "ls"});
    REQUIRE(all.exitCode == 0);
    CHECK(parseServersJson(all.out)->size() == 3);
}

TEST_CASE_FIXTURE(AdminFixture, "servers create --pool asks for a server in that pool") {
    const auto made = run({"servers", "create", "--pool", "arm64"});
    CAPTURE(made.err);
    REQUIRE(made.exitCode == 0);
    CHECK(made.out == "created arm64-dddd4444\n"); // As without pools: scripts read it.
    const auto requests = daemon.requests();
    REQUIRE_FALSE(requests.empty());
    CHECK(requests.back().method == "POST");
    CHECK(requests.back().path == "/api/servers");
    CHECK(requests.back().query == "pool=arm64");

    daemon.clearRequests();
    REQUIRE(run({"servers", "create"}).exitCode == 0);
    CHECK(daemon.requests().back().query.empty());

    const auto unknown = run({"servers", "create", "--pool", "nope"});
    CHECK(unknown.exitCode == 1);
    CHECK(has(unknown.err, "no pool named nope"));
}

TEST_CASE_FIXTURE(AdminFixture, "plan shows every pool and the unroutable stages") {
    const std::vector<Plan> plans = {
            {.pool = "amd64", .pending = 4, .servers = 1, .create = 1, .reasons = {"create 1"}},
            {.pool = "arm64", .pending = 3, .servers = 0, .create = 2},
    };
    const std::vector<Stage> unroutable = {{.id = 9, .status = "pending", .os = "windows"}};
    {
        const std::lock_guard lock(mutex);
        planBody = fleetPlanToJson(plans, unroutable);
    }
    const auto text = run({"plan"});
    CAPTURE(text.err);
    REQUIRE(text.exitCode == 0);
    CHECK(has(text.out, "pool amd64: pending 4, running 0, servers 1, capacity 0: create 1, "
                        "drain 0\n  - create 1\n"));
    CHECK(has(text.out, "pool arm64: pending 3, running 0, servers 0, capacity 0: create 2"));
    CHECK(has(text.out, "unroutable: 1 stage(s) no pool serves\n"));

    const auto json = run({"plan", "--json"});
    REQUIRE(json.exitCode == 0);
    CHECK(json.out == planBody + "\n");

    {
        const std::lock_guard lock(mutex);
        planBody = planToJson(plans.front());
    }
    const auto one = run({"plan"});
    REQUIRE(one.exitCode == 0);
    CHECK(one.out.starts_with("pending 4, running 0, servers 1"));
    CHECK_FALSE(has(one.out, "unroutable"));
}

} // namespace
} // namespace autoscale
