// SPDX-License-Identifier: Apache-2.0
/// \file
/// Checks our wire format against botocore's EC2 service model: every request the
/// provider sends to the fake EC2 (all DRONE_AMAZON_* settings, listing, describing,
/// destroying, tagging) must name only parameters that exist in the model, with values of
/// the right type and enum. Exits 77 (SKIP) without python3-botocore.

#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include <doctest/doctest.h>

#include <autoscale/ec2_provider.h>

#include "aws/ec2_client.h"
#include "core/json_text.h"
#include "fake_clock.h"
#include "fake_ec2.h"
#include "process.h"
#include "python_oracle.h"
#include "temp_dir.h"

namespace autoscale {
namespace {

using namespace std::chrono_literals;

std::string jsonLine(const std::vector<std::pair<std::string, std::string>>& params) {
    std::string out = "{\"params\":[";
    for (std::size_t i = 0; i < params.size(); ++i) {
        out += i == 0 ? "[" : ",[";
        out += detail::jsonQuote(params[i].first) + "," + detail::jsonQuote(params[i].second) + "]";
    }
    return out + "]}\n";
}

int check(const std::string& input, std::string& output) {
    return test::runPython(test::toolPath("ec2_model_check.py"), "", input, output);
}

TEST_CASE("every request the provider sends exists in botocore's EC2 model") {
    test::requirePythonModuleOrSkip("botocore");
    test::FakeClock clock;
    test::FakeEc2 ec2(clock);
    auto creds = std::shared_ptr<CredentialsSource>(makeStaticCredentials(
            {.accessKeyId = test::kTestAccessKeyId, .secretAccessKey = test::kTestSecretKey}));

    Ec2Options options;
    options.endpoint = ec2.endpoint();
    options.poolName = "pool";
    options.owner = "drone.example.com";
    options.amazon.image = "ami-1";
    options.amazon.instanceTypesAlt = {"t3.large"};
    options.amazon.subnetId = "subnet-1";
    options.amazon.securityGroups = {"sg-1", "sg-2"};
    options.amazon.sshKey = "key";
    options.amazon.tags = {{"team", "ci"}};
    options.amazon.volumeType = "io2";
    options.amazon.volumeIops = 3000;
    options.amazon.volumeThroughput = 125;
    options.amazon.iamProfileArn = "arn:aws:iam::1:instance-profile/p";
    options.amazon.marketType = "spot";
    auto provider = makeEc2Provider(options, creds, clock);
    REQUIRE(provider);
    ec2.faults([](test::FakeEc2Faults& f) { f.capacityByType["t3.medium"] = "Unsupported"; });
    const auto created =
            (*provider)->create({.serverName = "a", .clientToken = "t", .userData = "x"});
    REQUIRE(created);
    options.amazon.iamProfileArn.clear();
    options.amazon.iamProfileName = "profile";
    options.amazon.marketType.clear();
    options.amazon.privateIp = true;
    options.amazon.imdsTokens = "optional";
    auto second = makeEc2Provider(options, creds, clock);
    REQUIRE(second);
    REQUIRE((*second)->create({.serverName = "b", .clientToken = "u"}));
    // A spot pool whose spot walk is refused everywhere falls back to on-demand: both
    // markets' RunInstances, with the epoch tag, go through the check.
    options.amazon.marketType = "spot";
    options.amazon.subnetIdsAlt = {"subnet-2"};
    auto third = makeEc2Provider(options, creds, clock);
    REQUIRE(third);
    ec2.refuseCapacity({.market = "spot"});
    const auto fellBack = (*third)->create({.serverName = "c", .clientToken = "v", .epoch = 3});
    REQUIRE(fellBack);
    CHECK(fellBack->market == "on-demand");
    std::size_t spotRuns = 0;
    for (const auto& call : ec2.calls("RunInstances"))
        spotRuns += call.market() == "spot" ? 1U : 0U;
    CHECK(spotRuns == 2 + 4); // The first provider's spot walk, then the refused one.
    CHECK(ec2.signatureFailures() == 0);
    REQUIRE((*provider)->list());
    REQUIRE((*provider)->describe(created->id));
    const std::vector<std::string> ids{created->id, "i-000000000000000ff"};
    REQUIRE((*provider)->destroy(ids));

    auto http = makeCurlHttpClient({.protocols = "http"});
    REQUIRE(http);
    MemorySink sink;
    aws::Ec2Client client({.endpoint = ec2.endpoint()}, **http, *creds, clock,
                          Logger(sink, clock, "ec2", LogLevel::Info));
    const std::vector<aws::Tag> tags{{"k", "v"}, {"empty", ""}};
    REQUIRE(client.createTags(std::vector<std::string>{created->id}, tags));

    std::string input;
    std::set<std::string> actions;
    for (const auto& call : ec2.calls()) {
        input += jsonLine(call.params);
        actions.insert(call.action);
    }
    CHECK(actions == std::set<std::string>{"CreateTags", "DescribeInstances", "RunInstances",
                                           "TerminateInstances"});
    std::string output;
    const int status = check(input, output);
    INFO(output);
    CHECK(status == 0);
    CHECK(output.starts_with("ok "));
}

TEST_CASE("the model check rejects a misspelt parameter, a bad enum and a missing member") {
    test::requirePythonModuleOrSkip("botocore");
    std::string output;
    const std::string misspelt = jsonLine({{"Action", "RunInstances"},
                                           {"Version", "2016-11-15"},
                                           {"ImageId", "a"},
                                           {"MinCount", "1"},
                                           {"MaxCount", "1"},
                                           {"TagSpecifications.1.ResourceType", "instance"}});
    CHECK(check(misspelt, output) == 1);
    CHECK(output.find("TagSpecifications") != std::string::npos);
    const std::string badEnum = jsonLine({{"Action", "RunInstances"},
                                          {"Version", "2016-11-15"},
                                          {"MinCount", "1"},
                                          {"MaxCount", "1"},
                                          {"BlockDeviceMapping.1.Ebs.VolumeType", "gp9"}});
    CHECK(check(badEnum, output) == 1);
    CHECK(output.find("gp9") != std::string::npos);
    const std::string missing = jsonLine({{"Action", "RunInstances"},
                                          {"Version", "2016-11-15"},
                                          {"ImageId", "a"},
                                          {"MinCount", "1"}});
    CHECK(check(missing, output) == 1);
    CHECK(output.find("MaxCount") != std::string::npos);
    const std::string zeroIndex = jsonLine(
            {{"Action", "TerminateInstances"}, {"Version", "2016-11-15"}, {"InstanceId.0", "i-1"}});
    CHECK(check(zeroIndex, output) == 1);
}

TEST_CASE("the spot walk and its fallback pass botocore's own signature and model checks") {
    test::requirePythonModuleOrSkip("botocore");
    // The independent endpoint: botocore recomputes every signature, checks every
    // parameter and required member, and refuses spot t3.medium in every subnet.
    test::TempDir dir;
    test::BackgroundProcess oracle({"/usr/bin/python3", test::toolPath("ec2_oracle_server.py"),
                                    dir.file("calls.log"), "--cred",
                                    "ASIAORACLESPOT:oracle-secret:oracle-token", "--no-capacity",
                                    "spot:t3.medium"},
                                   {{"PATH", "/usr/bin:/bin"}}, dir.file("oracle.log"));
    REQUIRE(test::waitFor(
            [&] { return oracle.output().find("listening http://") != std::string::npos; }, 30s));
    const std::string out = oracle.output();
    const auto at = out.find("http://");
    const std::string endpoint = out.substr(at, out.find('\n', at) - at);

    test::FakeClock clock;
    auto creds = std::shared_ptr<CredentialsSource>(
            makeStaticCredentials({.accessKeyId = "ASIAORACLESPOT",
                                   .secretAccessKey = "oracle-secret",
                                   .sessionToken = "oracle-token"}));
    Ec2Options options;
    options.endpoint = endpoint;
    options.poolName = "spot-pool";
    options.owner = "drone.example.com";
    options.amazon.image = "ami-1";
    options.amazon.instanceType = "t3.medium";
    options.amazon.subnetId = "subnet-a";
    options.amazon.subnetIdsAlt = {"subnet-b"};
    options.amazon.securityGroups = {"sg-1"};
    options.amazon.marketType = "spot";
    // One type: spot is refused in both subnets, the fallback launches on-demand.
    auto onlyT3 = makeEc2Provider(options, creds, clock);
    REQUIRE(onlyT3);
    const auto fellBack =
            (*onlyT3)->create({.serverName = "a", .clientToken = "oracle-a", .epoch = 9});
    INFO((fellBack ? std::string() : fellBack.error().message));
    REQUIRE(fellBack);
    CHECK(fellBack->market == "on-demand");
    // Two types: spot t3a.medium wins in the first subnet.
    options.amazon.instanceTypesAlt = {"t3a.medium"};
    auto twoTypes = makeEc2Provider(options, creds, clock);
    REQUIRE(twoTypes);
    const auto spot = (*twoTypes)->create({.serverName = "b", .clientToken = "oracle-b"});
    REQUIRE(spot);
    CHECK(spot->market == "spot");
    const auto listed = (*twoTypes)->list();
    REQUIRE(listed);
    REQUIRE(listed->size() == 2);
    std::set<std::string> markets;
    for (const auto& i : *listed)
        markets.insert(i.market);
    CHECK(markets == std::set<std::string>{"on-demand", "spot"});
    const std::vector<std::string> ids{fellBack->id, spot->id};
    REQUIRE((*twoTypes)->destroy(ids));

    std::ifstream in(dir.file("calls.log"));
    std::stringstream log;
    log << in.rdbuf();
    CHECK(log.str() == "RunInstances 500 spot t3.medium subnet-a InsufficientInstanceCapacity\n"
                       "RunInstances 500 spot t3.medium subnet-b InsufficientInstanceCapacity\n"
                       "RunInstances 200 on-demand t3.medium subnet-a -\n"
                       "RunInstances 500 spot t3.medium subnet-a InsufficientInstanceCapacity\n"
                       "RunInstances 500 spot t3.medium subnet-b InsufficientInstanceCapacity\n"
                       "RunInstances 200 spot t3a.medium subnet-a -\n"
                       "DescribeInstances 200\n"
                       "TerminateInstances 200\n");
}

TEST_CASE("boto3 drives the fake EC2 and every answer parses") {
    test::requirePythonModuleOrSkip("boto3");
    // boto3 signs with the real time, so the fake checks signature age against it.
    const auto clock = makeSystemClock();
    test::FakeEc2 ec2(*clock);
    ec2.addInstances(12, {{"drone-autoscaler:pool", "seeded"}});
    std::string output;
    const int status = test::runPython(test::toolPath("boto3_fidelity.py"),
                                       "'" + ec2.endpoint() + "'", "", output);
    INFO(output);
    CHECK(status == 0);
    CHECK(output.find("run_instances i-") != std::string::npos);
    CHECK(output.find("paginated 12") != std::string::npos);
    CHECK(output.find("terminate_instances shutting-down") != std::string::npos);
    CHECK(output.find("error envelope ok") != std::string::npos);
    CHECK(output.find("state_reason Client.UserInitiatedShutdown") != std::string::npos);
    CHECK(output.find("spot spot") != std::string::npos);
    CHECK(ec2.signatureFailures() == 0);
    CHECK(ec2.calls("RunInstances").size() == 3);
    CHECK(ec2.instances().size() == 14);
}

} // namespace
} // namespace autoscale
