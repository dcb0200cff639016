// SPDX-License-Identifier: Apache-2.0
/// \file
/// `autoscaler-cli simulate` as a process: the text report, --json, --compare,
/// the shipped traces, and bad input (line numbers, exit 2, no crash).

#include <cstddef>
#include <fstream>
#include <map>
#include <string>
#include <vector>

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

/// The value of `"key":` in a flat run of JSON figures, from `from` on.
double number(const std::string& json, const std::string& key, std::size_t from = 0) {
    const auto at = json.find("\"" + key + "\":", from);
    REQUIRE(at != std::string::npos);
    return std::stod(json.substr(at + key.size() + 3));
}

TEST_CASE_FIXTURE(SimulateFixture, "the shipped three-pool fleet: each pool served, max kept, "
                                   "windows stages unroutable") {
    const std::map<std::string, std::string> env = {
            {"DRONE_POOL_FILE", examples + "/pools-sim.yml"}};
    const auto r = simulate({"--trace", examples + "/traces/fleet.jsonl", "--json"}, env);
    REQUIRE(r.exitCode == 0);
    CHECK(r.out.starts_with("{\"pools\":[{\"name\":\"amd64\","));
    const auto arm = r.out.find("{\"name\":\"arm64\",");
    const auto gpu = r.out.find("{\"name\":\"gpu\",");
    const auto total = r.out.find("\"total\":{");
    REQUIRE(arm != std::string::npos);
    REQUIRE(gpu != std::string::npos);
    REQUIRE(total != std::string::npos);
    for (const std::size_t at : {std::size_t{0}, arm, gpu}) {
        CAPTURE(at);
        CHECK(number(r.out, "builds", at) > 0);
        CHECK(number(r.out, "builds", at) == number(r.out, "stages", at)); // All of its stages.
        CHECK(number(r.out, "instance_hours", at) > 0);
        CHECK(number(r.out, "wait_p95_s", at) < 3600);
    }
    CHECK(number(r.out, "builds", 0) == 464);
    CHECK(number(r.out, "builds", arm) == 152);
    CHECK(number(r.out, "builds", gpu) == 38);
    CHECK(number(r.out, "peak_servers", 0) <= 5);
    CHECK(number(r.out, "peak_servers", arm) <= 3);
    CHECK(number(r.out, "peak_servers", gpu) <= 2);
    CHECK(number(r.out, "peak_servers", total) <= 8); // The fleet max, at every instant.
    CHECK(number(r.out, "fleet_max", total) == 8);
    CHECK(number(r.out, "unroutable", total) == 6);
    CHECK(number(r.out, "stages", total) == 660);
    CHECK(r.out.find("\"os\":\"windows\"") != std::string::npos);
    CHECK(r.err.find("6 of 660 stages are unroutable") != std::string::npos);
    // amd64 asks for spot in the pool file: its spot figures are there.
    CHECK(number(r.out, "spot_instance_hours", 0) > 0);
    CHECK(number(r.out, "cost_usd", 0) < number(r.out, "on_demand_cost_usd", 0));

    const auto text = simulate({"--trace", examples + "/traces/fleet.jsonl"}, env);
    REQUIRE(text.exitCode == 0);
    CHECK(text.out.find("amd64") != std::string::npos);
    CHECK(text.out.find("total") != std::string::npos);
    CHECK(text.out.find("unroutable stages") != std::string::npos);
    CHECK(text.out.find("6 × windows/amd64") != std::string::npos);
}

TEST_CASE_FIXTURE(SimulateFixture, "a pool file of one pool prints today's object") {
    const auto pools = write("one.yml", "version: 1\n"
                                        "pools:\n"
                                        "  - name: solo\n"
                                        "    min: 0\n"
                                        "    max: 1\n"
                                        "    concurrency: 1\n"
                                        "    amazon: {image: ami-0123456789abcdef0}\n");
    const auto trace = write("three.jsonl", "{\"t\":0,\"duration\":100}\n"
                                            "{\"t\":0,\"duration\":100}\n"
                                            "{\"t\":0,\"duration\":100}\n");
    const auto r = simulate({"--trace", trace, "--json"}, {{"DRONE_POOL_FILE", pools}});
    REQUIRE(r.exitCode == 0);
    // The same figures as the one pool of the environment (the by-hand test
    // above) at t3.medium's price.
    CHECK(r.out.starts_with("{\"builds\":3,\"wait_p50_s\":170.0,\"wait_p95_s\":270.0,"
                            "\"wait_max_s\":270.0,\"instance_hours\":0.103,"));
}

TEST_CASE_FIXTURE(SimulateFixture, "spot on the weekday trace: cheaper, reclaims rerun stages, "
                                   "--compare-markets side by side") {
    const std::map<std::string, std::string> env = {{"DRONE_POOL_MIN", "2"},
                                                    {"DRONE_POOL_MAX", "16"},
                                                    {"DRONE_AGENT_CONCURRENCY", "2"},
                                                    {"DRONE_AMAZON_MARKET_TYPE", "spot"}};
    const std::string weekday = examples + "/traces/weekday.jsonl";
    const auto r =
            simulate({"--trace", weekday, "--json", "--interruptions-per-hour", "0.05"}, env);
    REQUIRE(r.exitCode == 0);
    MESSAGE(r.out);
    CHECK(r.out.starts_with("{\"builds\":2332,"));
    CHECK(number(r.out, "interruptions") > 0);
    CHECK(number(r.out, "stages_rerun") > 0);
    const double cost = number(r.out, "cost_usd");
    const double onDemand = number(r.out, "on_demand_cost_usd");
    CHECK(cost == doctest::Approx(onDemand * 0.3).epsilon(0.01));
    CHECK(number(r.out, "on_demand_instance_hours") == 0);

    const auto both = simulate(
            {"--trace", weekday, "--json", "--interruptions-per-hour", "0.05", "--compare-markets"},
            env);
    REQUIRE(both.exitCode == 0);
    CHECK(both.out.starts_with("{\"on-demand\":{\"builds\":2332,"));
    const auto spot = both.out.find("},\"spot\":{\"builds\":2332,");
    REQUIRE(spot != std::string::npos);
    CHECK(number(both.out, "interruptions", spot) == number(r.out, "interruptions")); // Seeded.
    CHECK(number(both.out, "cost_usd") > number(both.out, "cost_usd", spot));

    // Spot gone for the whole trace: everything falls back to on-demand.
    const auto outage = simulate({"--trace", weekday, "--json", "--spot-outage", "0:700000"}, env);
    REQUIRE(outage.exitCode == 0);
    CHECK(number(outage.out, "spot_instance_hours") == 0);
    CHECK(number(outage.out, "spot_refusals") > 0);
    CHECK(number(outage.out, "cost_usd") == number(outage.out, "on_demand_cost_usd"));
}

TEST_CASE_FIXTURE(SimulateFixture, "bad spot flags exit 2") {
    const auto ok = write("ok.jsonl", "{\"t\":0,\"duration\":1}\n");
    CHECK(simulate({"--trace", ok, "--spot-outage", "10"}).exitCode == 2);
    CHECK(simulate({"--trace", ok, "--spot-outage", "20:10"}).exitCode == 2);
    CHECK(simulate({"--trace", ok, "--spot-outage", "a:b"}).exitCode == 2);
    CHECK(simulate({"--trace", ok, "--spot-price", "-1"}).exitCode == 2);
    CHECK(simulate({"--trace", ok, "--interruptions-per-hour", "-0.5"}).exitCode == 2);
    CHECK(simulate({"--trace", ok, "--spot-outage", "0:10", "--spot-outage", "20:30"}).exitCode ==
          0);
}

} // namespace
} // namespace autoscale
