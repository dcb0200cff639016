// SPDX-License-Identifier: Apache-2.0
// The pool file (SPEC §3): every key read, defaults from the environment, every
// kind of problem with its file, line and key, all at once; loadConfig; the
// shipped examples/pools.yml; the key table against the variable table.

#include "config/pool_file.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <doctest/doctest.h>

#include <autoscale/config.h>

#include "doctest_support.h"
#include "process.h"
#include "temp_dir.h"

namespace autoscale {
namespace {

using namespace std::chrono_literals;

constexpr const char* kPath = "pools.yml";

Environment base() {
    return {{"DRONE_SERVER_PROTO", "https"},
            {"DRONE_SERVER_HOST", "drone.example.com"},
            {"DRONE_SERVER_TOKEN", "s3cr3t-admin-token"},
            {"DRONE_AGENT_TOKEN", "rpc-s3cr3t"},
            {"DRONE_AMAZON_IMAGE", "ami-0123456789abcdef0"}};
}

Environment with(std::initializer_list<std::pair<const std::string, std::string>> extra) {
    Environment env = base();
    for (const auto& [k, v] : extra)
        env[k] = v;
    return env;
}

/// The environment read as parseConfig does (DRONE_AMAZON_IMAGE optional: a pool may set it).
Config environment(const Environment& env = base()) {
    auto c = parseConfig(env, ConfigNeeds{.amazon = false});
    REQUIRE_MESSAGE(c, c.error().message);
    return *c;
}

Config applyOk(const std::string& yaml, const Environment& env = base(), ConfigNeeds needs = {}) {
    auto c = applyPoolFile(environment(env), yaml, kPath, needs, env);
    if (!c)
        FAIL("unexpected error:\n" << c.error().message);
    return *c;
}

/// The problem lines of a file that must be refused.
std::vector<std::string> applyBad(const std::string& yaml, const Environment& env = base(),
                                  ConfigNeeds needs = {}) {
    auto c = applyPoolFile(environment(env), yaml, kPath, needs, env);
    if (c)
        FAIL("expected an error for:\n" << yaml);
    CHECK(c.error().code == Errc::InvalidArgument);
    std::vector<std::string> lines;
    std::istringstream in(c.error().message);
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    return lines;
}

/// The one problem line of a file with one mistake.
std::string oneProblem(const std::string& yaml, const Environment& env = base(),
                       ConfigNeeds needs = {}) {
    const auto lines = applyBad(yaml, env, needs);
    CHECK_MESSAGE(lines.size() == 1, yaml);
    return lines.empty() ? "" : lines.front();
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

TEST_CASE("every key of a pool is read") {
    const Config c = applyOk(R"(version: 1
max: 9
pools:
  - name: big-1
    platform: {os: windows, arch: arm64, variant: v8, kernel: "1809"}
    labels: {gpu: "yes", zone: a}
    min: 1
    max: 6
    concurrency: 3
    idle_timeout: 7m
    min_age: 55m
    buffer: 4
    launch_delay: 5s
    name_prefix: big-
    market: spot
    spot_fallback: false
    on_demand_max: 2
    amazon:
      region: eu-west-1
      image: ami-0abc1234
      instance_types: [t3.large, t3a.large, m5.large]
      subnets: [subnet-1, subnet-2, subnet-3]
      security_groups: [sg-1, sg-2]
      ssh_key: ops
      private_ip: true
      tags: {team: ci, cost: builds}
      volume: {size: 64, type: io2, iops: 3000, throughput: 250, device: /dev/xvda}
      iam_profile_arn: arn:aws:iam::1:instance-profile/ci
      imds_tokens: optional
      user_data: "#cloud-config\n"
    runner:
      image: drone/drone-runner-docker:1.8
      environ: [A=1, B=two]
      env_file: /etc/runner.env
      volumes: [/cache:/cache, /var/run/docker.sock:/var/run/docker.sock]
      published_ports: ["3000:3000"]
)");
    REQUIRE(c.pools.size() == 1);
    CHECK(c.fleetMax == 9);
    const PoolSettings& p = c.pools[0].pool;
    CHECK(p.name == "big-1");
    CHECK(p.os == "windows");
    CHECK(p.arch == "arm64");
    CHECK(p.variant == "v8");
    CHECK(p.kernel == "1809");
    CHECK(p.labels == std::map<std::string, std::string>{{"gpu", "yes"}, {"zone", "a"}});
    CHECK(p.min == 1);
    CHECK(p.max == 6);
    CHECK(p.concurrency == 3);
    CHECK(p.idleTimeout == 7min);
    CHECK(p.minAge == 55min);
    CHECK(p.buffer == 4);
    CHECK(p.launchDelay == 5s);
    const AgentSettings& a = c.pools[0].agent;
    CHECK(a.namePrefix == "big-");
    CHECK(a.image == "drone/drone-runner-docker:1.8");
    CHECK(a.environ == std::vector<std::string>{"A=1", "B=two"});
    CHECK(a.envFile == "/etc/runner.env");
    CHECK(a.volumes ==
          std::vector<std::string>{"/cache:/cache", "/var/run/docker.sock:/var/run/docker.sock"});
    CHECK(a.publishedPorts == std::vector<std::string>{"3000:3000"});
    CHECK(a.token == "rpc-s3cr3t"); // Not a pool key: the environment's.
    const AmazonSettings& m = c.pools[0].amazon;
    CHECK(m.marketType == "spot");
    CHECK_FALSE(m.spotFallback);
    CHECK(m.onDemandMax == 2);
    CHECK(m.region == "eu-west-1");
    CHECK(m.image == "ami-0abc1234");
    CHECK(m.instanceType == "t3.large");
    CHECK(m.instanceTypesAlt == std::vector<std::string>{"t3a.large", "m5.large"});
    CHECK(m.subnetId == "subnet-1");
    CHECK(m.subnetIdsAlt == std::vector<std::string>{"subnet-2", "subnet-3"});
    CHECK(m.securityGroups == std::vector<std::string>{"sg-1", "sg-2"});
    CHECK(m.sshKey == "ops");
    CHECK(m.privateIp);
    CHECK(m.tags == std::map<std::string, std::string>{{"team", "ci"}, {"cost", "builds"}});
    CHECK(m.volumeSize == 64);
    CHECK(m.volumeType == "io2");
    CHECK(m.volumeIops == 3000);
    CHECK(m.volumeThroughput == 250);
    CHECK(m.deviceName == "/dev/xvda");
    CHECK(m.iamProfileArn == "arn:aws:iam::1:instance-profile/ci");
    CHECK(m.imdsTokens == "optional");
    CHECK(m.userData == "#cloud-config\n");
    // The environment's own settings stay as they were.
    CHECK(c.pool.name == "default");
    CHECK(c.amazon.image == "ami-0123456789abcdef0");
    CHECK(c.agent.namePrefix == "agent-");
}

TEST_CASE("a key a pool leaves out takes the environment's value, then the default") {
    const Environment env = with({{"DRONE_POOL_MAX", "7"},
                                  {"DRONE_POOL_MIN", "1"},
                                  {"DRONE_AGENT_LABELS", "team:a"},
                                  {"DRONE_AGENT_CONCURRENCY", "5"},
                                  {"DRONE_AMAZON_INSTANCE", "c5.large"},
                                  {"DRONE_AMAZON_INSTANCE_ALT", "c5a.large"},
                                  {"DRONE_AMAZON_TAGS", "env:prod"},
                                  {"DRONE_AMAZON_MARKET_TYPE", "spot"},
                                  {"DRONE_AGENT_NAME_PREFIX", "ci-"},
                                  {"DRONE_POOL_IDLE_TIMEOUT", "3m"}});
    const Config c = applyOk("version: 1\npools:\n  - name: one\n  - name: two\n    max: 2\n", env);
    REQUIRE(c.pools.size() == 2);
    const PoolConfig& one = c.pools[0];
    CHECK(one.pool.name == "one");
    CHECK(one.pool.max == 7);
    CHECK(one.pool.min == 1);
    CHECK(one.pool.concurrency == 5);
    CHECK(one.pool.labels == std::map<std::string, std::string>{{"team", "a"}});
    CHECK(one.pool.idleTimeout == 3min);
    CHECK(one.amazon.instanceType == "c5.large");
    CHECK(one.amazon.instanceTypesAlt == std::vector<std::string>{"c5a.large"});
    CHECK(one.amazon.tags == std::map<std::string, std::string>{{"env", "prod"}});
    CHECK(one.amazon.marketType == "spot");
    CHECK(one.amazon.image == "ami-0123456789abcdef0");
    // Built-in defaults where the environment sets nothing.
    CHECK(one.pool.os == "linux");
    CHECK(one.pool.arch == "amd64");
    CHECK(one.pool.launchDelay == 30s);
    CHECK(one.amazon.region == "us-east-1");
    CHECK(one.amazon.volumeSize == 32);
    CHECK(one.agent.image == "drone/drone-runner-docker:1");
    // Servers are named after their pool, not DRONE_AGENT_NAME_PREFIX.
    CHECK(one.agent.namePrefix == "one-");
    CHECK(c.pools[1].agent.namePrefix == "two-");
    CHECK(c.pools[1].pool.max == 2);
    CHECK_FALSE(c.fleetMax.has_value());
}

TEST_CASE("null leaves a key out; an empty value empties it where that makes sense") {
    const Environment env = with({{"DRONE_AGENT_LABELS", "team:a"},
                                  {"DRONE_AGENT_VERSION", "v8"},
                                  {"DRONE_AMAZON_SUBNET_ID", "subnet-a"},
                                  {"DRONE_AMAZON_SUBNET_IDS_ALT", "subnet-b"},
                                  {"DRONE_AMAZON_INSTANCE_ALT", "t3a.medium"},
                                  {"DRONE_AMAZON_VOLUME_IOPS", "3000"},
                                  {"DRONE_AGENT_ENVIRON", "A=1"},
                                  {"DRONE_AMAZON_MARKET_TYPE", "spot"},
                                  {"DRONE_POOL_MAX", "6"}});
    const Config c = applyOk(R"(version: 1
pools:
  - name: a
    max:
    labels: {}
    platform: {variant: ""}
    market: on-demand
    amazon:
      subnets: []
      instance_types: [t3.small]
      volume: {iops: ""}
    runner: {environ: []}
)",
                             env);
    const PoolConfig& p = c.pools.at(0);
    CHECK(p.pool.max == 6);
    CHECK(p.pool.labels.empty());
    CHECK(p.pool.variant.empty());
    CHECK(p.amazon.marketType.empty());
    CHECK(p.amazon.subnetId.empty());
    CHECK(p.amazon.subnetIdsAlt.empty());
    CHECK(p.amazon.instanceType == "t3.small");
    CHECK(p.amazon.instanceTypesAlt.empty()); // A list replaces the environment's whole list.
    CHECK_FALSE(p.amazon.volumeIops.has_value());
    CHECK(p.agent.environ.empty());
}

TEST_CASE("runner.environ copies a bare name from the environment, as DRONE_AGENT_ENVIRON") {
    const Config c = applyOk(
            "version: 1\npools:\n  - name: a\n    runner: {environ: [HTTP_PROXY, B=2, NOPE]}\n",
            with({{"HTTP_PROXY", "http://proxy:3128"}}));
    CHECK(c.pools.at(0).agent.environ ==
          std::vector<std::string>{"HTTP_PROXY=http://proxy:3128", "B=2", "NOPE="});
}

TEST_CASE("a pool's own choice of two exclusive keys replaces the environment's other one") {
    const Environment env = with(
            {{"DRONE_AMAZON_IAM_PROFILE_NAME", "ci"}, {"DRONE_AMAZON_USERDATA_FILE", "/u.yml"}});
    const Config c = applyOk(R"(version: 1
pools:
  - name: a
    amazon: {iam_profile_arn: "arn:aws:iam::1:instance-profile/x", user_data: "#cloud-config"}
  - name: b
)",
                             env);
    CHECK(c.pools.at(0).amazon.iamProfileName.empty());
    CHECK(c.pools.at(0).amazon.iamProfileArn == "arn:aws:iam::1:instance-profile/x");
    CHECK(c.pools.at(0).amazon.userDataFile.empty());
    CHECK(c.pools.at(0).amazon.userData == "#cloud-config");
    CHECK(c.pools.at(1).amazon.iamProfileName == "ci");
    CHECK(c.pools.at(1).amazon.userDataFile == "/u.yml");

    const std::string both = oneProblem(R"(version: 1
pools:
  - name: a
    amazon:
      user_data: "#cloud-config secret-template-text"
      user_data_file: /u.yml
)");
    CHECK(both == "pools.yml:6: pools[0].amazon.user_data_file: is set together with "
                  "amazon.user_data; expected only one of them");
}

TEST_CASE("the issue's three mistakes: all reported at once, each with its line and key") {
    const auto lines = applyBad(R"(version: 1
max: 10
pools:
  - name: amd64
    max: 4
    amazon:
      insance_types: [t3.medium]
  - name: arm64
    max: -1
  - name: amd64
)");
    REQUIRE(lines.size() == 3);
    CHECK(lines[0] == "pools.yml:7: pools[0].amazon.insance_types: unknown key; did you mean "
                      "instance_types?");
    CHECK(lines[1] == "pools.yml:9: pools[1].max: \"-1\" is out of range; expected an integer "
                      "from 0 to 10000 (as DRONE_POOL_MAX)");
    CHECK(lines[2] == "pools.yml:10: pools[2].name: \"amd64\" is also the name of pools[0] (line "
                      "4); expected unique names");
}

TEST_CASE("YAML syntax errors name the line and column") {
    const std::string problem = oneProblem("version: 1\npools:\n  - name: a\n    max: [1, 2\n");
    CHECK(problem.starts_with("pools.yml:5:1: not valid YAML: "));
    CHECK(contains(oneProblem("version: 1\n  pools: x\n"), "not valid YAML"));
    CHECK(oneProblem("") ==
          "pools.yml: is empty; expected `version: 1` and a list `pools` (see README, \"Pools\")");
    CHECK(oneProblem("# nothing but a comment\n").starts_with("pools.yml: is empty"));
    CHECK(oneProblem("version: 1\npools: [{name: a}]\n---\nversion: 1\n") ==
          "pools.yml:3: holds more than one YAML document; expected one");
    // yaml-cpp 0.7's LoadAll() never returns on these (jbeder/yaml-cpp#1040).
    CHECK(oneProblem(",").starts_with("pools.yml: is empty"));
    CHECK(oneProblem(", b}").starts_with("pools.yml: is empty"));
    CHECK(oneProblem("version: 1\npools: [{name: a}]\n---\n,\n") ==
          "pools.yml:3: holds more than one YAML document; expected one");
}

TEST_CASE("wrong types are named with what was expected") {
    CHECK(oneProblem("- version: 1\n") ==
          "pools.yml:1: is a list; expected a map with the keys version, max and pools");
    CHECK(oneProblem("version: 1\npools: {name: a}\n") ==
          "pools.yml:2: pools: is a map; expected a list of pools");
    CHECK(oneProblem("version: 1\npools:\n  - a\n") ==
          "pools.yml:3: pools[0]: is a single value; expected a map of keys such as name, "
          "platform, max");
    CHECK(oneProblem("version: 1\npools:\n  - name: a\n    labels: [gpu]\n") ==
          "pools.yml:4: pools[0].labels: is a list; expected a map such as {key: value}");
    CHECK(oneProblem("version: 1\npools:\n  - name: a\n    platform: [linux, amd64]\n") ==
          "pools.yml:4: pools[0].platform: is a list; expected a map of keys");
    CHECK(oneProblem("version: 1\npools:\n  - name: a\n    min: {a: 1}\n") ==
          "pools.yml:4: pools[0].min: is a map; expected a single value");
    CHECK(oneProblem("version: 1\npools:\n  - name: a\n    amazon: {instance_types: t3.large}\n") ==
          "pools.yml:4: pools[0].amazon.instance_types: is a single value; expected a list such "
          "as [a, b]");
    CHECK(oneProblem("version: 1\npools:\n  - name: a\n    amazon:\n      tags: {a: [1]}\n") ==
          "pools.yml:5: pools[0].amazon.tags.a: is a list; expected a single value");
    CHECK(oneProblem("version: 1\npools:\n  - name: a\n    runner:\n      volumes:\n        - "
                     "[a]\n") ==
          "pools.yml:6: pools[0].runner.volumes[0]: is a list; expected a single value");
    CHECK(oneProblem("version: 1\nmax: [1]\npools: [{name: a}]\n") ==
          "pools.yml:2: max: is a list; expected a whole number");
}

TEST_CASE("values are checked by the variables' own readers") {
    const auto problem = [](const std::string& key) {
        return oneProblem("version: 1\npools:\n  - name: a\n    " + key + "\n");
    };
    CHECK(problem("concurrency: 0") == "pools.yml:4: pools[0].concurrency: \"0\" is out of "
                                       "range; expected an integer from 1 to 1000 (as "
                                       "DRONE_AGENT_CONCURRENCY)");
    CHECK(problem("min: two") == "pools.yml:4: pools[0].min: \"two\" is not a whole number; "
                                 "expected an integer from 0 to 10000 (as DRONE_POOL_MIN)");
    CHECK(problem("idle_timeout: soon") ==
          "pools.yml:4: pools[0].idle_timeout: \"soon\" is not a duration; expected Go syntax "
          "such as 90s, 5m, 1h30m or 500ms (as DRONE_POOL_IDLE_TIMEOUT)");
    CHECK(problem("spot_fallback: maybe") ==
          "pools.yml:4: pools[0].spot_fallback: \"maybe\" is not a boolean; expected true, "
          "false, 1, 0, yes or no (as DRONE_AMAZON_SPOT_FALLBACK)");
    CHECK(problem("amazon: {image: centos}") ==
          "pools.yml:4: pools[0].amazon.image: \"centos\" is not an AMI id; expected ami-... (as "
          "DRONE_AMAZON_IMAGE)");
    CHECK(problem("amazon: {security_groups: [sg-1, default]}") ==
          "pools.yml:4: pools[0].amazon.security_groups: \"default\" is not a security-group id; "
          "expected sg-... (as DRONE_AMAZON_SECURITY_GROUP)");
    CHECK(problem("amazon: {volume: {type: gp9}}") ==
          "pools.yml:4: pools[0].amazon.volume.type: \"gp9\" is not allowed; expected one of gp2, "
          "gp3, io1, io2, st1, sc1, standard (as DRONE_AMAZON_VOLUME_TYPE)");
    CHECK(problem("amazon: {imds_tokens: off}") ==
          "pools.yml:4: pools[0].amazon.imds_tokens: \"off\" is not allowed; expected one of "
          "required, optional (as DRONE_AMAZON_IMDS_TOKENS)");
    CHECK(problem("runner: {volumes: [/cache]}") ==
          "pools.yml:4: pools[0].runner.volumes: \"/cache\" is not a bind; expected "
          "/host/path:/container/path (as DRONE_AGENT_VOLUMES)");
    CHECK(problem("market: reserved") ==
          "pools.yml:4: pools[0].market: \"reserved\" is not allowed; expected on-demand or spot");
    CHECK(problem("on_demand_max: -2") ==
          "pools.yml:4: pools[0].on_demand_max: \"-2\" is out of range; expected an integer from "
          "0 to 10000");
    CHECK(problem("min_age: \"\"") ==
          "pools.yml:4: pools[0].min_age: is empty; expected a value; leave the key out to take "
          "DRONE_POOL_MIN_AGE's");
    CHECK(problem("amazon: {instance_types: []}") ==
          "pools.yml:4: pools[0].amazon.instance_types: is empty; expected at least one item");
    CHECK(problem("amazon: {instance_types: [t3.large, \"a,b\"]}") ==
          "pools.yml:4: pools[0].amazon.instance_types[1]: holds a comma; expected a value "
          "without one");
    CHECK(problem("labels: {\"a:b\": c}") ==
          "pools.yml:4: pools[0].labels.a:b: is not a usable key; expected one without , or :");
}

TEST_CASE("names: required, [a-z0-9-]{1,32}, unique naming both lines") {
    CHECK(oneProblem("version: 1\npools:\n  - max: 2\n") ==
          "pools.yml:3: pools[0].name: is required; expected 1 to 32 characters a-z, 0-9 or -");
    for (const std::string& bad :
         std::vector<std::string>{"Amd64", "a_b", "a.b", std::string(33, 'a'), "\"\""}) {
        CAPTURE(bad);
        CHECK(contains(oneProblem("version: 1\npools:\n  - name: " + bad + "\n"),
                       "pools.yml:3: pools[0].name: "));
    }
    // A value quoted in a problem never breaks it over lines.
    CHECK(oneProblem("version: 1\npools:\n  - name: \"a\\nb\\x01\"\n") ==
          "pools.yml:3: pools[0].name: \"a\\nb\\x01\" is not a pool name; expected 1 to 32 "
          "characters a-z, 0-9 or -");
    CHECK(applyOk("version: 1\npools:\n  - name: " + std::string(32, 'a') + "\n  - name: 0-x\n")
                  .pools.size() == 2);
    const auto lines =
            applyBad("version: 1\npools:\n  - name: a\n  - name: b\n  - name: a\n  - name: b\n");
    REQUIRE(lines.size() == 2);
    CHECK(lines[0] ==
          "pools.yml:5: pools[2].name: \"a\" is also the name of pools[0] (line 3); expected "
          "unique names");
    CHECK(lines[1] ==
          "pools.yml:6: pools[3].name: \"b\" is also the name of pools[1] (line 4); expected "
          "unique names");
}

TEST_CASE("unknown keys at every level suggest the closest known key") {
    CHECK(oneProblem("version: 1\nmaxx: 3\npools: [{name: a}]\n") ==
          "pools.yml:2: maxx: unknown key; did you mean max?");
    CHECK(oneProblem("version: 1\npools:\n  - name: a\n    idle_timout: 5m\n") ==
          "pools.yml:4: pools[0].idle_timout: unknown key; did you mean idle_timeout?");
    CHECK(oneProblem("version: 1\npools:\n  - name: a\n    platform: {ach: arm64}\n") ==
          "pools.yml:4: pools[0].platform.ach: unknown key; did you mean arch?");
    CHECK(oneProblem("version: 1\npools:\n  - name: a\n    amazon:\n      insance_types: [x]\n") ==
          "pools.yml:5: pools[0].amazon.insance_types: unknown key; did you mean instance_types?");
    CHECK(oneProblem("version: 1\npools:\n  - name: a\n    amazon:\n      volume: {szie: 8}\n") ==
          "pools.yml:5: pools[0].amazon.volume.szie: unknown key; did you mean size?");
    CHECK(oneProblem("version: 1\npools:\n  - name: a\n    runner: {enviorn: [A=1]}\n") ==
          "pools.yml:4: pools[0].runner.enviorn: unknown key; did you mean environ?");
    // A key of a section is not a key of the pool itself.
    CHECK(oneProblem("version: 1\npools:\n  - name: a\n    image: ami-0abc\n") ==
          "pools.yml:4: pools[0].image: unknown key; did you mean name?");
}

TEST_CASE("a key given twice is a problem naming both lines") {
    CHECK(oneProblem("version: 1\npools:\n  - name: a\n    max: 2\n    max: 3\n") ==
          "pools.yml:5: pools[0].max: is set twice (first on line 4); expected each key once");
    CHECK(oneProblem("version: 1\nversion: 1\npools: [{name: a}]\n") ==
          "pools.yml:2: version: is set twice (first on line 1); expected each key once");
}

TEST_CASE("min above max, naming where each comes from") {
    CHECK(oneProblem("version: 1\npools:\n  - name: a\n    min: 3\n    max: 2\n") ==
          "pools.yml:4: pools[0].min: 3 is greater than max (2); expected min <= max");
    CHECK(oneProblem("version: 1\npools:\n  - name: a\n    min: 5\n") ==
          "pools.yml:4: pools[0].min: 5 is greater than max (4 from DRONE_POOL_MAX); expected "
          "min <= max");
    CHECK(oneProblem("version: 1\npools:\n  - name: a\n    max: 1\n") ==
          "pools.yml:4: pools[0].min: 2 from DRONE_POOL_MIN is greater than max (1); expected "
          "min <= max");
    // A max with a problem of its own is not compared as well.
    CHECK(oneProblem("version: 1\npools:\n  - name: a\n    min: 3\n    max: x\n")
                  .starts_with("pools.yml:5: pools[0].max: \"x\" is not a whole number"));
}

TEST_CASE("the fleet max: at least 1, not below the pools' min added up") {
    CHECK(oneProblem("version: 1\nmax: 0\npools: [{name: a, min: 0}]\n") ==
          "pools.yml:2: max: \"0\" is out of range; expected an integer from 1 to 10000");
    CHECK(oneProblem(
                  "version: 1\nmax: 3\npools:\n  - {name: a, min: 2}\n  - {name: b, min: 2}\n") ==
          "pools.yml:2: max: 3 is less than the pools' min added up (4); expected at least that");
    // DRONE_POOL_MIN (2) counts for the pools that leave min out.
    CHECK(contains(oneProblem("version: 1\nmax: 3\npools: [{name: a}, {name: b, min: 0}, {name: "
                              "c}]\n"),
                   "(4)"));
    CHECK(applyOk("version: 1\nmax: 4\npools: [{name: a}, {name: b}]\n").fleetMax == 4);
}

TEST_CASE("version is required and must be 1; pools is required and not empty") {
    CHECK(oneProblem("pools: [{name: a}]\n") ==
          "pools.yml:1: version: is required; expected version: 1");
    CHECK(oneProblem("version: 2\npools: [{name: a}]\n") ==
          "pools.yml:1: version: \"2\" is not supported; expected 1");
    CHECK(oneProblem("version: 1\n") ==
          "pools.yml:1: pools: is required; expected a list of pools, each with at least a name");
    CHECK(oneProblem("version: 1\npools: []\n") ==
          "pools.yml:2: pools: is empty; expected at least one pool");
    CHECK(oneProblem("version: 1\npools:\n") ==
          "pools.yml:2: pools: is required; expected a list of pools, each with at least a name");
}

TEST_CASE("an image is needed per pool when the command launches") {
    Environment env = base();
    env.erase("DRONE_AMAZON_IMAGE");
    const std::string yaml = "version: 1\npools:\n  - name: a\n  - name: b\n    amazon: {image: "
                             "ami-0b}\n";
    const auto lines = applyBad(yaml, env);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0] == "pools.yml:3: pools[0].amazon.image: is required: neither amazon.image nor "
                      "DRONE_AMAZON_IMAGE is set; expected an AMI id such as "
                      "ami-0123456789abcdef0");
    const Config c = applyOk(yaml, env, ConfigNeeds{.amazon = false});
    CHECK(c.pools.at(0).amazon.image.empty());
    CHECK(c.pools.at(1).amazon.image == "ami-0b");
}

TEST_CASE("a secret's value never appears in a message") {
    const std::string secret = "SECRET-template-0123456789";
    const auto all = [&](const std::string& yaml) {
        std::string text;
        for (const auto& line : applyBad(yaml))
            text += line + "\n";
        return text;
    };
    CHECK_FALSE(contains(all("version: 1\npools:\n  - name: a\n    amazon:\n      user_data: [" +
                             secret + "]\n"),
                         secret));
    CHECK_FALSE(contains(all("version: 1\npools:\n  - name: a\n    amazon: {user_data: " + secret +
                             ", user_data_file: /f, user_dat: " + secret + "}\n"),
                         secret));
    CHECK_FALSE(contains(all("version: 1\npools:\n  - name: a\n    amazon:\n      user_data: |\n "
                             "       " +
                             secret + "\n      - x\n"),
                         secret));
}

TEST_CASE("problems come in line order, all of them") {
    const auto lines = applyBad(R"(version: 3
max: 0
pools:
  - name: Bad
    platfrom: {}
    min: -1
    amazon: {volume: {size: 0}}
  - name: ok
    runner: [x]
)");
    REQUIRE(lines.size() == 7);
    std::vector<int> numbers;
    for (const auto& line : lines) {
        CHECK(line.starts_with("pools.yml:"));
        numbers.push_back(std::stoi(line.substr(std::string("pools.yml:").size())));
    }
    CHECK(numbers == std::vector<int>{1, 2, 4, 5, 6, 7, 9});
}

TEST_CASE("loadConfig: the environment alone without DRONE_POOL_FILE, else the file too") {
    CHECK(loadConfig(base()).value() == parseConfig(base()).value());

    test::TempDir dir;
    const std::string path = dir.file("pools.yml");
    std::ofstream(path) << "version: 1\nmax: 3\npools:\n  - {name: x86, min: 0}\n  - {name: arm, "
                           "min: 0, platform: {arch: arm64}}\n";
    Environment env = with({{"DRONE_POOL_FILE", path}});
    const auto c = loadConfig(env);
    REQUIRE_MESSAGE(c, c.error().message);
    CHECK(c->poolFile == path);
    CHECK(c->fleetMax == 3);
    REQUIRE(c->pools.size() == 2);
    CHECK(c->pools[1].pool.arch == "arm64");
    CHECK(c->pools[1].agent.namePrefix == "arm-");

    // DRONE_AMAZON_IMAGE is then optional in the environment, needed per pool.
    env.erase("DRONE_AMAZON_IMAGE");
    const auto noImage = loadConfig(env);
    REQUIRE_FALSE(noImage);
    CHECK(contains(noImage.error().message, path + ":4: pools[0].amazon.image: is required"));
    CHECK_FALSE(contains(noImage.error().message, "DRONE_AMAZON_IMAGE: is required"));
    CHECK(loadConfig(env, ConfigNeeds{.amazon = false}));

    // The environment's problems and the file's together, then the warnings.
    std::ofstream(path) << "version: 1\npools: [{name: A}]\n";
    env["DRONE_INTERVAL"] = "soon";
    env["DRONE_POOL_MNI"] = "1";
    const auto both = loadConfig(env, ConfigNeeds{.amazon = false});
    REQUIRE_FALSE(both);
    CHECK(both.error().code == Errc::InvalidArgument);
    CHECK(both.error().message ==
          "DRONE_INTERVAL: \"soon\" is not a duration; expected Go syntax such as 90s, 5m, 1h30m "
          "or 500ms\n" +
                  path +
                  ":2: pools[0].name: \"A\" is not a pool name; expected 1 to 32 characters a-z, "
                  "0-9 or -\nwarning: DRONE_POOL_MNI: unknown variable, ignored; did you mean "
                  "DRONE_POOL_MIN?");

    env["DRONE_POOL_FILE"] = dir.file("absent.yml");
    env.erase("DRONE_INTERVAL");
    const auto absent = loadConfig(env);
    REQUIRE_FALSE(absent);
    CHECK(absent.error().message.starts_with("DRONE_POOL_FILE: cannot read " +
                                             dir.file("absent.yml")));
}

TEST_CASE("examples/pools.yml: amd64, arm64 with its own AMI, gpu; fleet max 5") {
    REQUIRE_FALSE(test::testEnv("AUTOSCALE_EXAMPLES").empty());
    const std::string path = test::testEnv("AUTOSCALE_EXAMPLES") + "/pools.yml";
    const auto c = loadConfig(with({{"DRONE_POOL_FILE", path}}));
    REQUIRE_MESSAGE(c, c.error().message);
    CHECK(c->fleetMax == 5);
    REQUIRE(c->pools.size() == 3);
    const auto& [amd64, arm64, gpu] = std::tie(c->pools[0], c->pools[1], c->pools[2]);
    CHECK(amd64.pool.name == "amd64");
    CHECK(amd64.pool.arch == "amd64");
    CHECK(amd64.pool.labels.empty());
    CHECK(amd64.pool.max == 3);
    CHECK(amd64.amazon.instanceType == "t3.medium");
    CHECK(amd64.amazon.image == "ami-0123456789abcdef0");
    CHECK(arm64.pool.name == "arm64");
    CHECK(arm64.pool.arch == "arm64");
    CHECK(arm64.pool.max == 2);
    CHECK(arm64.amazon.instanceType == "t4g.medium");
    CHECK(arm64.amazon.image != amd64.amazon.image);
    CHECK(gpu.pool.name == "gpu");
    CHECK(gpu.pool.labels == std::map<std::string, std::string>{{"gpu", "yes"}});
    CHECK(gpu.pool.max == 1);
    CHECK(gpu.amazon.instanceType == "g4dn.xlarge");
    for (const auto& pool : c->pools) {
        CHECK(pool.pool.concurrency == 1);
        CHECK(pool.pool.min == 0);
        CHECK(pool.agent.namePrefix == pool.pool.name + "-");
    }
}

TEST_CASE("every variable a pool may set has a key, read by that variable's reader") {
    std::set<std::string_view> keyed;
    for (const auto& key : detail::poolKeys()) {
        CAPTURE(key.path);
        for (const auto name : {key.variable, key.restVariable}) {
            if (name.empty())
                continue;
            const VariableSpec* spec = findVariable(name);
            REQUIRE(spec != nullptr);
            CHECK(spec->scope == VariableScope::Pool);
            CHECK(spec->use == VariableUse::Read);
            keyed.insert(name);
        }
    }
    for (const auto& spec : configVariables()) {
        if (spec.scope == VariableScope::Pool) {
            CAPTURE(spec.name);
            CHECK(keyed.contains(spec.name));
        }
    }
    const VariableSpec* file = findVariable("DRONE_POOL_FILE");
    REQUIRE(file != nullptr);
    CHECK(file->scope == VariableScope::Global);
}

TEST_CASE("README's Pools section names every key and the variable it defaults from") {
    const std::string path = test::testEnv("AUTOSCALE_README");
    REQUIRE_FALSE(path.empty());
    std::ifstream in(path);
    REQUIRE(in);
    std::stringstream buffer;
    buffer << in.rdbuf();
    const std::string readme = buffer.str();
    const auto start = readme.find("\n## Pools\n");
    REQUIRE(start != std::string::npos);
    const std::string section = readme.substr(start, readme.find("\n## ", start + 1) - start);
    for (const auto& key : detail::poolKeys()) {
        CAPTURE(key.path);
        // `amazon.volume.size`, or `.size` after `amazon.volume.size` in a row of several.
        const auto dot = key.path.rfind('.');
        const std::string leaf(key.path.substr(dot == std::string_view::npos ? 0 : dot));
        CHECK((contains(section, "`" + std::string(key.path)) ||
               contains(section, "`" + leaf + "`")));
        if (!key.variable.empty())
            CHECK(contains(section, "`" + std::string(key.variable) + "`"));
        if (!key.restVariable.empty())
            CHECK(contains(section, "`" + std::string(key.restVariable) + "`"));
    }
}

} // namespace
} // namespace autoscale
