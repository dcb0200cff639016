// SPDX-License-Identifier: Apache-2.0
/// \file
/// The deployment files under examples/deploy that no other test runs: the
/// systemd units pass `systemd-analyze verify` (with ExecStart pointed at the
/// built daemon; SKIP without systemd-analyze), and the two-daemon compose
/// file says what README's high-availability section says (read with
/// yaml-cpp; compose's `<<` merge keys resolved here).

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <doctest/doctest.h>

#include <autoscale/config.h>

#include "doctest_support.h"
#include "process.h"
#include "temp_dir.h"

#include <yaml-cpp/yaml.h>

namespace autoscale {
namespace {

using namespace std::chrono_literals;

std::filesystem::path deployDir() {
    return std::filesystem::path(test::testEnv("AUTOSCALE_EXAMPLES")) / "deploy";
}

std::string readFile(const std::filesystem::path& path) {
    std::ifstream in(path);
    REQUIRE(in);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

TEST_CASE("systemd: both units pass systemd-analyze verify") {
    const std::filesystem::path analyze = "/usr/bin/systemd-analyze";
    if (!std::filesystem::exists(analyze)) {
        MESSAGE("no systemd-analyze: skipped");
        std::exit(77); // NOLINT(concurrency-mt-unsafe): meson's SKIP, one thread.
    }
    test::TempDir dir;
    std::vector<std::string> argv{analyze.string(), "verify"};
    for (const char* unit : {"autoscaler.service", "autoscaler-ha.service"}) {
        std::string text = readFile(deployDir() / unit);
        const std::string installed = "/usr/local/bin/autoscaler";
        const auto at = text.find("ExecStart=" + installed);
        REQUIRE(at != std::string::npos);
        text.replace(at + 10, installed.size(), test::testEnv("AUTOSCALER_BIN"));
        std::ofstream(dir.file(unit)) << text;
        argv.push_back(dir.file(unit));
    }
    const auto verified = test::runProcess(argv, {{"PATH", "/usr/bin:/bin"}}, 60s);
    CAPTURE(verified.err);
    CHECK(verified.exitCode == 0);
    CHECK(verified.err.empty());
}

/// A compose service with its `<<` merge keys applied (the service's own keys win).
YAML::Node merged(const YAML::Node& service) {
    YAML::Node out(YAML::NodeType::Map);
    if (const YAML::Node base = service["<<"]) {
        for (const auto& entry : base)
            out[entry.first.as<std::string>()] = entry.second;
    }
    for (const auto& entry : service) {
        if (entry.first.as<std::string>() != "<<")
            out[entry.first.as<std::string>()] = entry.second;
    }
    return out;
}

TEST_CASE("compose: two daemons on one PostgreSQL, one shared key, distinct identities, "
          "only known variables") {
    const YAML::Node compose = YAML::LoadFile((deployDir() / "compose-ha.yml").string());
    const YAML::Node services = compose["services"];
    REQUIRE(services.IsMap());
    REQUIRE(services["postgres"]);
    CHECK(services["postgres"]["image"].as<std::string>() == "postgres:15");
    CHECK(services["postgres"]["environment"]["POSTGRES_PASSWORD_FILE"].as<std::string>() ==
          "/run/secrets/pg_password");

    const auto& known = knownVariables();
    std::set<std::string> identities;
    std::set<std::string> hostPorts;
    int daemons = 0;
    for (const auto& entry : services) {
        const std::string name = entry.first.as<std::string>();
        if (name == "postgres")
            continue;
        CAPTURE(name);
        ++daemons;
        const YAML::Node service = merged(entry.second);
        CHECK(service["image"].as<std::string>() == "autoscale:latest");
        CHECK(service["depends_on"]["postgres"]["condition"].as<std::string>() ==
              "service_healthy");
        const YAML::Node env = service["environment"];
        REQUIRE(env.IsMap());
        for (const auto& variable : env) {
            const std::string key = variable.first.as<std::string>();
            CAPTURE(key);
            CHECK(std::find(known.begin(), known.end(), key) != known.end());
        }
        CHECK(env["DRONE_DATABASE_DRIVER"].as<std::string>() == "postgres");
        // The one SSH client key, from a secret the service mounts.
        CHECK(env["DRONE_SSH_PRIVATE_KEY_FILE"].as<std::string>() == "/run/secrets/ssh_client_key");
        std::set<std::string> secrets;
        for (const auto& secret : service["secrets"])
            secrets.insert(secret.as<std::string>());
        CHECK(secrets == std::set<std::string>{"pg_password", "ssh_client_key"});
        identities.insert(env["DRONE_HA_ID"].as<std::string>());
        for (const auto& port : service["ports"])
            hostPorts.insert(port.as<std::string>().substr(0, port.as<std::string>().find(':')));
        // The DSN is made from the password secret at start, never written out.
        const std::string entrypoint = service["entrypoint"][2].as<std::string>();
        CHECK(entrypoint.find("DRONE_DATABASE_DATASOURCE=") != std::string::npos);
        CHECK(entrypoint.find("$(cat /run/secrets/pg_password)") != std::string::npos);
        CHECK(entrypoint.find("exec /usr/local/bin/docker-entrypoint.sh serve") !=
              std::string::npos);
    }
    CHECK(daemons == 2);
    CHECK(identities.size() == 2);
    CHECK(hostPorts.size() == 2);
    CHECK(compose["secrets"]["ssh_client_key"]["file"]);
    CHECK(compose["secrets"]["pg_password"]["file"]);
    // The entrypoint it runs is the image's.
    CHECK(readFile(deployDir() / "Dockerfile").find("/usr/local/bin/docker-entrypoint.sh") !=
          std::string::npos);
}

} // namespace
} // namespace autoscale
