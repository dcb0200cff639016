// SPDX-License-Identifier: Apache-2.0
// `autoscaler-cli plan` with EC2 configured, against an independent endpoint
// (tests/tools/ec2_oracle_server.py) that recomputes every signature with
// python3-botocore and rejects parameters its EC2 model does not know. Each
// credential source of the chain is used once. Exits 77 without botocore.

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <doctest/doctest.h>

#include "doctest_support.h"
#include "fake_credential_servers.h"
#include "process.h"
#include "temp_dir.h"

namespace autoscale {
namespace {

using namespace std::chrono_literals;

struct Oracle {
    test::TempDir dir;
    std::unique_ptr<test::BackgroundProcess> server;
    std::string endpoint;

    Oracle() {
        const std::string tools = test::testEnv("AUTOSCALE_TEST_TOOLS");
        server = std::make_unique<test::BackgroundProcess>(
                std::vector<std::string>{"/usr/bin/python3", tools + "/ec2_oracle_server.py",
                                         dir.file("calls.log"), "--cred",
                                         "AKIDORACLESTATIC:static-secret", "--cred",
                                         "ASIAORACLETOKEN:token-secret:the-session-token", "--cred",
                                         "AKIDORACLEPROFILE:profile-secret", "--cred",
                                         "ASIAIMDS1:secret-ASIAIMDS1:token-ASIAIMDS1"},
                std::map<std::string, std::string>{{"PATH", "/usr/bin:/bin"}},
                dir.file("server.log"));
        REQUIRE(test::waitFor(
                [&] { return server->output().find("listening ") != std::string::npos; }, 30s));
        const std::string out = server->output();
        const auto at = out.find("http://");
        endpoint = out.substr(at, out.find('\n', at) - at);
    }

    std::string calls() const {
        std::ifstream in(dir.file("calls.log"));
        std::stringstream text;
        text << in.rdbuf();
        return text.str();
    }
};

test::ProcessResult plan(const std::map<std::string, std::string>& extra, const Oracle& oracle) {
    const std::string examples = test::testEnv("AUTOSCALE_EXAMPLES");
    std::map<std::string, std::string> env = {
            {"AWS_ENDPOINT_URL_EC2", oracle.endpoint},
            {"AWS_CONFIG_FILE", oracle.dir.file("none")},
            {"AWS_SHARED_CREDENTIALS_FILE", oracle.dir.file("none")},
            {"AWS_EC2_METADATA_DISABLED", "true"},
            {"DRONE_SERVER_HOST", "drone.example.com"},
            {"HOME", oracle.dir.path().string()}};
    for (const auto& [k, v] : extra)
        env[k] = v;
    return test::runProcess({test::testEnv("AUTOSCALER_CLI_BIN"), "plan", "--json", "--queue-file",
                             examples + "/queue.json", "--servers-file",
                             examples + "/servers.json"},
                            env, 60s);
}

void expectDescribeOnly(const std::string& calls) {
    CHECK_FALSE(calls.empty());
    std::size_t start = 0;
    while (start < calls.size()) {
        const auto end = calls.find('\n', start);
        const std::string line = calls.substr(start, end - start);
        CAPTURE(line);
        CHECK(line.starts_with("Describe"));
        start = end == std::string::npos ? calls.size() : end + 1;
    }
}

TEST_CASE("plan reads EC2 with every credential source, Describe only") {
    Oracle oracle;

    SUBCASE("static keys") {
        const auto r = plan({{"AWS_ACCESS_KEY_ID", "AKIDORACLESTATIC"},
                             {"AWS_SECRET_ACCESS_KEY", "static-secret"}},
                            oracle);
        CAPTURE(r.err);
        CHECK(r.exitCode == 0);
        CHECK(r.out.find("\"unknown_instances\":[]") != std::string::npos);
        CHECK(r.out.find("static-secret") == std::string::npos);
        CHECK(oracle.calls().find("DescribeInstances 200") != std::string::npos);
    }
    SUBCASE("static keys with a session token") {
        const auto r = plan({{"AWS_ACCESS_KEY_ID", "ASIAORACLETOKEN"},
                             {"AWS_SECRET_ACCESS_KEY", "token-secret"},
                             {"AWS_SESSION_TOKEN", "the-session-token"}},
                            oracle);
        CAPTURE(r.err);
        CHECK(r.exitCode == 0);
    }
    SUBCASE("a shared credentials file with AWS_PROFILE") {
        std::ofstream(oracle.dir.file("credentials"))
                << "[default]\naws_access_key_id = AKIDWRONG\naws_secret_access_key = x\n\n"
                   "[ci]\naws_access_key_id = AKIDORACLEPROFILE\n"
                   "aws_secret_access_key = profile-secret\n";
        const auto r = plan({{"AWS_PROFILE", "ci"},
                             {"AWS_SHARED_CREDENTIALS_FILE", oracle.dir.file("credentials")}},
                            oracle);
        CAPTURE(r.err);
        CHECK(r.exitCode == 0);
    }
    SUBCASE("an IMDSv2 instance role") {
        const auto clock = makeSystemClock();
        test::FakeImds imds(*clock, std::chrono::hours{6});
        const auto r = plan({{"AWS_EC2_METADATA_DISABLED", "false"},
                             {"AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.endpoint()}},
                            oracle);
        CAPTURE(r.err);
        CHECK(r.exitCode == 0);
        CHECK(imds.credentialsServed() >= 1);
    }
    SUBCASE("a wrong secret exits 1 saying the signature or credentials were rejected") {
        const auto r = plan({{"AWS_ACCESS_KEY_ID", "AKIDORACLESTATIC"},
                             {"AWS_SECRET_ACCESS_KEY", "not-the-secret"}},
                            oracle);
        CHECK(r.exitCode == 1);
        CHECK(r.err.find("SignatureDoesNotMatch") != std::string::npos);
        CHECK(r.err.find("secret access key") != std::string::npos);
        CHECK(r.err.find("not-the-secret") == std::string::npos);
    }
    expectDescribeOnly(oracle.calls());
}

} // namespace
} // namespace autoscale

namespace {
/// Skips the whole program (exit 77) when python3-botocore is not installed.
const bool kBotocore = [] {
    // NOLINTNEXTLINE(concurrency-mt-unsafe,cert-env33-c): test set-up before any thread.
    if (std::system("/usr/bin/python3 -c 'import botocore' >/dev/null 2>&1") != 0) {
        std::fprintf(stderr, "python3-botocore is not installed: skipping\n");
        std::_Exit(77);
    }
    return true;
}();
} // namespace
