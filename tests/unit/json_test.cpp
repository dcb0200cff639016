// SPDX-License-Identifier: Apache-2.0
// Server and plan JSON: drone/autoscaler's shape, no secrets, round trips.

#include <array>
#include <tuple>

#include <doctest/doctest.h>
#include <rapidjson/document.h>

#include <autoscale/json.h>

#include "doctest_support.h"
#include "json_value.h"

namespace autoscale {
namespace {

TEST_CASE("a server's JSON has drone/autoscaler's fields and no keys") {
    const Server s{.name = "agent-1",
                   .instanceId = "i-1",
                   .state = ServerState::Running,
                   .image = "ami-1",
                   .region = "us-east-1a",
                   .size = "t3.medium",
                   .address = "10.0.0.1",
                   .capacity = 2,
                   .clientToken = "TOKEN-SECRET",
                   .hostKey = "ssh-ed25519 PUBLIC",
                   .hostPrivateKey = "PRIVATE-SECRET",
                   .created = WallTime{std::chrono::seconds{1700000000}},
                   .version = 3};
    const std::string json = serverToJson(s);
    for (const char* field : {"\"id\":\"i-1\"", "\"provider\":\"amazon\"", "\"state\":\"running\"",
                              "\"name\":\"agent-1\"", "\"image\":", "\"region\":", "\"size\":",
                              "\"platform\":", "\"address\":", "\"capacity\":2", "\"secret\":\"\"",
                              "\"error\":", "\"created\":1700000000",
                              "\"updated\":", "\"started\":0", "\"stopped\":0"}) {
        CAPTURE(field);
        CHECK(json.find(field) != std::string::npos);
    }
    CHECK(json.find("SECRET") == std::string::npos);
    CHECK(json.find("ca_key") == std::string::npos);
    CHECK(json.find("tls_key") == std::string::npos);
    const auto back = parseServerJson(json);
    REQUIRE(back);
    CHECK(back->name == "agent-1");
    CHECK(back->state == ServerState::Running);
    CHECK(back->version == 3);
}

TEST_CASE("drone/autoscaler's state names map to ours") {
    const auto servers =
            parseServersJson(R"([{"name":"a","state":"created"},{"name":"b","state":"staging"},)"
                             R"({"name":"c","state":"shutdown"},{"name":"d","state":"stopping"},)"
                             R"({"name":"e","state":"stopped"}])");
    REQUIRE(servers);
    REQUIRE(servers->size() == 5);
    CHECK((*servers)[0].state == ServerState::Booting);
    CHECK((*servers)[1].state == ServerState::Installing);
    CHECK((*servers)[2].state == ServerState::Draining);
    CHECK((*servers)[3].state == ServerState::Terminating);
    CHECK((*servers)[4].state == ServerState::Terminated);
}

/// Every phase, its drone/autoscaler state name and its own name.
constexpr std::array<std::tuple<ServerState, const char*, const char*>, 9> kWireStates{{
        {ServerState::Pending, "pending", "pending"},
        {ServerState::Creating, "creating", "creating"},
        {ServerState::Booting, "created", "booting"},
        {ServerState::Installing, "staging", "installing"},
        {ServerState::Running, "running", "running"},
        {ServerState::Draining, "shutdown", "draining"},
        {ServerState::Terminating, "stopping", "terminating"},
        {ServerState::Terminated, "stopped", "terminated"},
        {ServerState::Error, "error", "error"},
}};

TEST_CASE("a server's JSON says state in drone/autoscaler's words and phase in ours") {
    for (const auto& [state, drone, phase] : kWireStates) {
        // clang 14 cannot capture a structured binding in CAPTURE's lambda.
        const auto& phaseName = phase;
        CAPTURE(phaseName);
        const std::string json = serverToJson(Server{.name = "agent-1", .state = state});
        CHECK(json.find("\"state\":\"" + std::string(drone) + "\"") != std::string::npos);
        CHECK(json.find("\"phase\":\"" + std::string(phase) + "\"") != std::string::npos);
        const auto back = parseServerJson(json);
        REQUIRE(back);
        CHECK(back->state == state);
    }
}

TEST_CASE("a terminated server reads stopped, so `drone server ls` hides it") {
    const std::string json =
            serversToJson({Server{.name = "gone", .state = ServerState::Terminated},
                           Server{.name = "up", .state = ServerState::Running}});
    CHECK(json.find(R"("state":"stopped","name":"gone")") != std::string::npos);
    CHECK(json.find(R"("state":"running","name":"up")") != std::string::npos);
    CHECK(json.find("terminated\",\"name") == std::string::npos);
}

TEST_CASE("a server's state parses from either vocabulary, with or without a phase") {
    for (const auto& [state, drone, phase] : kWireStates) {
        // clang 14 cannot capture a structured binding in CAPTURE's lambda.
        const auto& phaseName = phase;
        CAPTURE(phaseName);
        const auto byDrone =
                parseServerJson(R"({"name":"a","state":")" + std::string(drone) + R"("})");
        REQUIRE(byDrone);
        CHECK(byDrone->state == state);
        const auto byOurs =
                parseServerJson(R"({"name":"a","state":")" + std::string(phase) + R"("})");
        REQUIRE(byOurs);
        CHECK(byOurs->state == state);
    }
    // The phase refines the state it agrees with and is ignored otherwise
    // (a file edited by hand: the state wins).
    const auto refined = parseServerJson(R"({"name":"a","state":"created","phase":"booting"})");
    REQUIRE(refined);
    CHECK(refined->state == ServerState::Booting);
    const auto edited = parseServerJson(R"({"name":"a","state":"stopped","phase":"running"})");
    REQUIRE(edited);
    CHECK(edited->state == ServerState::Terminated);
    CHECK_FALSE(parseServerJson(R"({"name":"a","state":"bogus","phase":"running"})"));
}

TEST_CASE("bad server lists are errors that say what is wrong") {
    CHECK(parseServersJson("[{").error().message.find("offset") != std::string::npos);
    CHECK(parseServersJson("{}").error().message.find("not a JSON list") != std::string::npos);
    CHECK(parseServersJson(R"([{"state":"running"}])").error().message.find("no name") !=
          std::string::npos);
    CHECK(parseServersJson(R"([{"name":"a","state":"bogus"}])").error().message.find("bogus") !=
          std::string::npos);
    CHECK(parseServersJson("null")->empty());
}

TEST_CASE("the plan JSON carries SPEC's keys and round-trips") {
    const Plan p{.pool = "default",
                 .pending = 5,
                 .running = 1,
                 .leftOut = {.kind = 3, .platform = 2, .limit = 3, .throttle = 1, .routed = 4},
                 .servers = 2,
                 .capacity = 4,
                 .create = 1,
                 .drain = {"agent-2"},
                 .reasons = {"create 1: \"quoted\""}};
    const std::string json = planToJson(p);
    for (const char* key :
         {"\"pool\":", "\"pending\":5", "\"running\":1", "\"servers\":2", "\"capacity\":4",
          "\"create\":1", "\"drain\":[\"agent-2\"]", "\"reasons\":[",
          R"("left_out":{"kind":3,"platform":2,"labels":0,"limit":3,"throttle":1,"status":0,"routed":4})"}) {
        CAPTURE(key);
        CHECK(json.find(key) != std::string::npos);
    }
    const auto back = parsePlanJson(json);
    REQUIRE(back);
    CHECK(*back == p);
    CHECK(messageJson("no \"such\" server") == R"({"message":"no \"such\" server"})");
}

TEST_CASE(
        "server JSON decodes into drone-go's Server: every field of its type, state in its words") {
    // drone-go's drone.Server (what `drone server ls|info|create|destroy` decode):
    // strings, an int capacity, int64 Unix times; []byte key fields may be absent.
    const std::array<std::pair<ServerState, const char*>, 9> states = {{
            {ServerState::Pending, "pending"},
            {ServerState::Creating, "creating"},
            {ServerState::Booting, "created"},
            {ServerState::Installing, "staging"},
            {ServerState::Running, "running"},
            {ServerState::Draining, "shutdown"},
            {ServerState::Terminating, "stopping"},
            {ServerState::Terminated, "stopped"},
            {ServerState::Error, "error"},
    }};
    for (const auto& [state, wire] : states) {
        const std::string expected = wire;
        Server s{.name = "agent-Ab3dE5gH", .instanceId = "i-0abc", .state = state, .capacity = 2};
        s.created = WallTime{std::chrono::seconds{1700000000}};
        const std::string json = serverToJson(s);
        CAPTURE(json);
        auto doc = detail::parseJsonDocument(json, "server");
        REQUIRE(doc);
        const rapidjson::Value& o = *doc;
        for (const char* field : {"id", "provider", "state", "name", "image", "region", "size",
                                  "platform", "address", "secret", "error"}) {
            const auto it = o.FindMember(field);
            REQUIRE_MESSAGE(it != o.MemberEnd(), field);
            CHECK_MESSAGE(it->value.IsString(), field);
        }
        for (const char* field : {"capacity", "created", "updated", "started", "stopped"}) {
            const auto it = o.FindMember(field);
            REQUIRE_MESSAGE(it != o.MemberEnd(), field);
            CHECK_MESSAGE(it->value.IsInt64(), field);
        }
        for (const char* key : {"ca_key", "ca_cert", "tls_key", "tls_cert"})
            CHECK_MESSAGE(o.FindMember(key) == o.MemberEnd(), key); // No key is ever served.
        CHECK(std::string(o.FindMember("state")->value.GetString()) == expected);
        CHECK(o.FindMember("created")->value.GetInt64() == 1700000000);
        CHECK(std::string(o.FindMember("secret")->value.GetString()).empty());
    }
}

} // namespace
} // namespace autoscale
