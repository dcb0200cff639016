// SPDX-License-Identifier: Apache-2.0
/// \file
/// `autoscaler-cli simulate` as a process: the text report, --json, --compare,
/// the shipped traces, and bad input (line numbers, exit 2, no crash).

#include <fstream>

#include <doctest/doctest.h>

#include <autoscale/simulation.h>

#include "process.h"
#include "temp_dir.h"

namespace autoscale {
namespace {

using namespace std::chrono_literals;

struct SimulateFixture {
    test::TempDir dir;
    std::string cli = test::testEnv("AUTOSCALER_CLI_BIN");
    std::string examples = test::testEnv("AUTOSCALE_EXAMPLES");

    std::string write(const std::string& name, const std::string& text) const {
        const std::string path = dir.file(name);
        std::ofstream(path, std::ios::binary) << text;
        return path;
    }

    test::ProcessResult simulate(std::vector<std::string> args,
                                 std::map<std::string, std::string> env = {}) const {
        std::vector<std::string> argv = {cli, "simulate"};
        argv.insert(argv.end(), args.begin(), args.end());
        return test::runProcess(argv, env, 120s);
    }
};

TEST_CASE_FIXTURE(SimulateFixture, "--json prints the figures computed by hand") {
    REQUIRE_FALSE(cli.empty());
    // MAX 1, concurrency 1, boot 60 s: stages start at 70, 170 and 270 s.
    const auto trace = write("three.jsonl", "{\"t\":0,\"duration\":100}\n"
                                            "{\"t\":0,\"duration\":100}\n"
                                            "{\"t\":0,\"duration\":100}\n");
    const auto r = simulate(
            {"--trace", trace, "--json", "--price", "3.6"},
            {{"DRONE_POOL_MIN", "0"}, {"DRONE_POOL_MAX", "1"}, {"DRONE_AGENT_CONCURRENCY", "1"}});
    CHECK(r.exitCode == 0);
    CHECK(r.out == "{\"builds\":3,\"wait_p50_s\":170.0,\"wait_p95_s\":270.0,\"wait_max_s\":270.0,"
                   "\"instance_hours\":0.103,\"idle_instance_hours\":0.019,\"cost_usd\":0.37,"
                   "\"peak_servers\":1}\n");
}

TEST_CASE_FIXTURE(SimulateFixture, "MIN servers at the start for both policies; --cold-start "
                                   "starts empty") {
    // One stage at 600 s. Warm: the MIN server has been up since 60 s, no
    // wait. Cold: classic plans at 600 s (its second 5-minute plan), creates
    // at 610 s, runs at 670 s, installs at 680 s: an 80 s wait.
    const auto trace = write("one.jsonl", "{\"t\":600,\"duration\":60}\n");
    const std::map<std::string, std::string> env = {
            {"DRONE_POOL_MIN", "1"}, {"DRONE_POOL_MAX", "2"}, {"DRONE_AGENT_CONCURRENCY", "1"}};
    const auto warm = simulate({"--trace", trace, "--policy", "classic", "--json"}, env);
    REQUIRE(warm.exitCode == 0);
    CHECK(warm.out.find("\"wait_max_s\":0.0,") != std::string::npos);
    const auto cold =
            simulate({"--trace", trace, "--policy", "classic", "--json", "--cold-start"}, env);
    REQUIRE(cold.exitCode == 0);
    CHECK(cold.out.find("\"wait_max_s\":80.0,") != std::string::npos);
    const auto text = simulate({"--trace", trace, "--compare", "--cold-start"}, env);
    CHECK(text.out.find("start: an empty pool (--cold-start)") != std::string::npos);
    CHECK(simulate({"--trace", trace, "--compare"}, env)
                  .out.find("start: MIN servers launched at once under both policies") !=
          std::string::npos);
}

TEST_CASE_FIXTURE(SimulateFixture, "the text report has every figure and an 80-column chart") {
    const auto r = simulate({"--trace", examples + "/traces/trickle.jsonl", "--compare"},
                            {{"DRONE_POOL_MAX", "8"}});
    REQUIRE(r.exitCode == 0);
    for (const char* needle :
         {"stages run", "2498 of 2498", "wait p50", "wait p95", "wait max", "instance-hours",
          "idle instance-hours", "cost (USD)", "peak servers", "default", "classic", "d6"})
        CHECK_MESSAGE(r.out.find(needle) != std::string::npos, needle);
    std::size_t start = 0;
    while (start < r.out.size()) {
        const auto end = r.out.find('\n', start);
        CHECK(end - start <= 80);
        start = end + 1;
    }
}

TEST_CASE_FIXTURE(SimulateFixture, "every shipped trace has 2,000 stages or more, all run") {
    for (const char* name : {"weekday", "nightly", "trickle"}) {
        CAPTURE(name);
        const auto trace = readTraceFile(examples + "/traces/" + name + ".jsonl");
        REQUIRE(trace);
        CHECK(trace->size() >= 2000);
        for (const char* policy : {"default", "classic"}) {
            const auto r = simulate({"--trace", examples + "/traces/" + name + ".jsonl", "--policy",
                                     policy, "--json"},
                                    {{"DRONE_POOL_MAX", "16"}});
            REQUIRE(r.exitCode == 0);
            CHECK(r.out.starts_with("{\"builds\":" + std::to_string(trace->size()) + ","));
        }
    }
}

TEST_CASE_FIXTURE(SimulateFixture, "capacity failures and boot jitter: later, but all run") {
    std::string text;
    for (int i = 0; i < 200; ++i)
        text += "{\"t\":" + std::to_string(i * 60) + ",\"duration\":300}\n";
    const auto trace = write("steady.jsonl", text);
    const auto calm = simulate({"--trace", trace, "--json"}, {{"DRONE_POOL_MAX", "8"}});
    const auto rough = simulate({"--trace", trace, "--json", "--boot", "90s", "--boot-jitter",
                                 "60s", "--capacity-failures", "0.3", "--seed", "3"},
                                {{"DRONE_POOL_MAX", "8"}});
    REQUIRE(calm.exitCode == 0);
    REQUIRE(rough.exitCode == 0);
    CHECK(rough.out.starts_with("{\"builds\":200,"));
    CHECK(rough.out != calm.out);
    const auto both = simulate({"--trace", trace, "--json", "--compare"});
    REQUIRE(both.exitCode == 0);
    CHECK(both.out.starts_with("{\"default\":{\"builds\":200,"));
    CHECK(both.out.find("},\"classic\":{\"builds\":200,") != std::string::npos);
}

TEST_CASE_FIXTURE(SimulateFixture, "a malformed line is reported with its number, exit 2") {
    const auto trace = write("bad.jsonl", "{\"t\":0,\"duration\":1}\n\n{\"t\":1,\"duration\":}\n");
    const auto r = simulate({"--trace", trace});
    CHECK(r.exitCode == 2);
    CHECK(r.out.empty());
    CHECK(r.err.find("bad.jsonl: line 3: not JSON") != std::string::npos);

    const auto binary = write("binary.jsonl", std::string("\x00\xff\xfe{\n", 5));
    CHECK(simulate({"--trace", binary}).exitCode == 2);
    CHECK(simulate({"--trace", dir.file("missing.jsonl")}).exitCode == 2);
    CHECK(simulate({"--trace", trace, "--policy", "fastest"}).exitCode == 2);
    CHECK(simulate({"--trace", trace, "--boot", "soon"}).exitCode == 2);
    CHECK(simulate({}).exitCode == 2); // --trace is required.
    const auto ok = write("ok.jsonl", "{\"t\":0,\"duration\":1}\n");
    const auto config =
            simulate({"--trace", ok}, {{"DRONE_POOL_MIN", "9"}, {"DRONE_POOL_MAX", "2"}});
    CHECK(config.exitCode == 2);
    CHECK(config.err.find("DRONE_POOL_MIN") != std::string::npos);
}

TEST_CASE_FIXTURE(SimulateFixture, "stages no runner of the pool takes are reported") {
    const auto trace = write("arm.jsonl", "{\"t\":0,\"duration\":1,\"arch\":\"arm64\"}\n"
                                          "{\"t\":0,\"duration\":1}\n");
    const auto r = simulate({"--trace", trace, "--json"});
    CHECK(r.exitCode == 0);
    CHECK(r.out.starts_with("{\"builds\":1,"));
    CHECK(r.err.find("1 of 2 stages never ran") != std::string::npos);
}

} // namespace
} // namespace autoscale
