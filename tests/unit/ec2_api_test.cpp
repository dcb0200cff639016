// SPDX-License-Identifier: Apache-2.0
/// \file
/// EC2 request serialization, reply parsing against botocore's parses of the fixtures in
/// tests/data/ec2, error classification, standard-mode retry arithmetic and the shared
/// config INI dialect.

#include "aws/ec2_api.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include <doctest/doctest.h>
#include <rapidjson/document.h>

#include "aws/ini.h"
#include "aws/retry.h"
#include "core/time_format.h"
#include "doctest_support.h"

namespace autoscale::aws {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

fs::path dataDir() {
    const char* dir = std::getenv("AUTOSCALE_TEST_DATA"); // NOLINT(concurrency-mt-unsafe)
    REQUIRE(dir != nullptr);
    return fs::path(dir) / "ec2";
}

std::string readFile(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in.good());
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

std::map<std::string, std::string> asMap(const QueryParams& params) {
    std::map<std::string, std::string> out;
    for (const auto& param : params) { // Not a structured binding: clang 14, doctest's lambda.
        const std::string& k = param.first;
        CHECK_MESSAGE(out.count(k) == 0, "duplicate parameter " << k);
        out[k] = param.second;
    }
    return out;
}

std::string str(const rapidjson::Value& object, const char* key) {
    const auto it = object.FindMember(key);
    if (it == object.MemberEnd() || !it->value.IsString())
        return {};
    return it->value.GetString();
}

/// Compares our Ec2Instance with botocore's parse of the same XML.
void checkInstance(const Ec2Instance& ours, const rapidjson::Value& theirs) {
    CAPTURE(ours.id);
    CHECK(ours.id == str(theirs, "InstanceId"));
    CHECK(ours.imageId == str(theirs, "ImageId"));
    CHECK(ours.instanceType == str(theirs, "InstanceType"));
    CHECK(ours.privateIp == str(theirs, "PrivateIpAddress"));
    CHECK(ours.publicIp == str(theirs, "PublicIpAddress"));
    CHECK(ours.clientToken == str(theirs, "ClientToken"));
    CHECK(ours.lifecycle == str(theirs, "InstanceLifecycle"));
    CHECK(ours.subnetId == str(theirs, "SubnetId"));
    const auto& state = theirs["State"];
    CHECK(ours.stateName == str(state, "Name"));
    CHECK(ours.stateCode == (state["Code"].GetInt() & 0xFF));
    if (theirs.HasMember("Placement"))
        CHECK(ours.zone == str(theirs["Placement"], "AvailabilityZone"));
    if (theirs.HasMember("StateReason")) {
        CHECK(ours.stateReasonCode == str(theirs["StateReason"], "Code"));
        CHECK(ours.stateReasonMessage == str(theirs["StateReason"], "Message"));
    }
    const auto launch = detail::parseIso8601(str(theirs, "LaunchTime"));
    REQUIRE(launch.has_value());
    CHECK(ours.launchTime == *launch);
    std::vector<Tag> tags;
    if (theirs.HasMember("Tags")) {
        for (const auto& tag : theirs["Tags"].GetArray())
            tags.push_back(Tag{str(tag, "Key"), str(tag, "Value")});
    }
    CHECK(ours.tags == tags);
}

rapidjson::Document loadJson(const fs::path& path) {
    const std::string text = readFile(path);
    rapidjson::Document doc;
    doc.Parse(text.c_str());
    REQUIRE_FALSE(doc.HasParseError());
    return doc;
}

TEST_CASE("DescribeInstances fixtures parse exactly as botocore parses them") {
    for (const char* name : {"constructed/responses/describe-instances-page1",
                             "constructed/responses/describe-instances-empty",
                             "botocore/responses/ec2-describe-instances"}) {
        CAPTURE(name);
        const auto page =
                parseDescribeInstances(readFile(dataDir() / (std::string(name) + ".xml")));
        REQUIRE(page);
        fs::path json = dataDir() / (std::string(name) + ".expected.json");
        if (!fs::exists(json))
            json = dataDir() / (std::string(name) + ".json");
        const auto expected = loadJson(json);
        CHECK(page->nextToken == str(expected, "NextToken"));
        std::size_t n = 0;
        for (const auto& reservation : expected["Reservations"].GetArray()) {
            for (const auto& instance : reservation["Instances"].GetArray()) {
                REQUIRE(n < page->instances.size());
                checkInstance(page->instances[n++], instance);
            }
        }
        CHECK(n == page->instances.size());
    }
}

TEST_CASE("RunInstances and TerminateInstances fixtures parse as botocore parses them") {
    for (const char* name :
         {"constructed/responses/run-instances", "botocore/responses/ec2-run-instances"}) {
        CAPTURE(name);
        const auto instances =
                parseRunInstances(readFile(dataDir() / (std::string(name) + ".xml")));
        REQUIRE(instances);
        fs::path json = dataDir() / (std::string(name) + ".expected.json");
        if (!fs::exists(json))
            json = dataDir() / (std::string(name) + ".json");
        const auto expected = loadJson(json);
        const auto& list = expected["Instances"].GetArray();
        REQUIRE(list.Size() == instances->size());
        for (rapidjson::SizeType i = 0; i < list.Size(); ++i)
            checkInstance((*instances)[i], list[i]);
    }
    const auto changes = parseTerminateInstances(
            readFile(dataDir() / "constructed/responses/terminate-instances.xml"));
    REQUIRE(changes);
    const auto expected =
            loadJson(dataDir() / "constructed/responses/terminate-instances.expected.json");
    const auto& list = expected["TerminatingInstances"].GetArray();
    REQUIRE(list.Size() == changes->size());
    for (rapidjson::SizeType i = 0; i < list.Size(); ++i) {
        CHECK((*changes)[i].id == str(list[i], "InstanceId"));
        CHECK((*changes)[i].current == str(list[i]["CurrentState"], "Name"));
        CHECK((*changes)[i].previous == str(list[i]["PreviousState"], "Name"));
    }
}

TEST_CASE("malformed, truncated and unexpected replies are Parse errors, never crashes") {
    const std::string good =
            readFile(dataDir() / "constructed/responses/describe-instances-page1.xml");
    for (std::size_t cut :
         {std::size_t{0}, std::size_t{1}, good.size() / 3, good.size() / 2, good.size() - 2}) {
        const auto page = parseDescribeInstances(std::string_view(good).substr(0, cut));
        REQUIRE_FALSE(page);
        CHECK(page.error().code == Errc::Parse);
    }
    const auto wrongRoot = parseDescribeInstances("<RunInstancesResponse/>");
    REQUIRE_FALSE(wrongRoot);
    CHECK(wrongRoot.error().code == Errc::Parse);
    CHECK(wrongRoot.error().message.find("RunInstancesResponse") != std::string::npos);
    CHECK_FALSE(parseRunInstances("<RunInstancesResponse><instancesSet/></RunInstancesResponse>"));
    CHECK_FALSE(parseServiceError("<html>502</html>").has_value());
    CHECK_FALSE(parseServiceError("\x01\x02 not xml").has_value());
}

TEST_CASE("every error fixture is classified with code, message, request id and status") {
    const std::string index = readFile(dataDir() / "constructed/errors/index.tsv");
    std::istringstream lines(index);
    std::string line;
    std::getline(lines, line); // Header.
    const std::map<std::string, Errc> expectedKind{
            {"RequestLimitExceeded", Errc::Throttled},
            {"InsufficientInstanceCapacity", Errc::Capacity},
            {"InvalidInstanceID.NotFound", Errc::NotFound},
            {"InvalidInstanceID.Malformed", Errc::InvalidArgument},
            {"UnauthorizedOperation", Errc::Forbidden},
            {"AuthFailure", Errc::Unauthorized},
            {"SignatureDoesNotMatch", Errc::Unauthorized},
            {"RequestExpired", Errc::Unauthorized},
            {"VcpuLimitExceeded", Errc::Capacity},
            {"MaxSpotInstanceCountExceeded", Errc::Capacity},
            {"InstanceLimitExceeded", Errc::Capacity},
            {"Unsupported", Errc::Capacity},
            {"SpotMaxPriceTooLow", Errc::Capacity},
            {"InsufficientFreeAddressesInSubnet", Errc::Capacity},
            {"IdempotentParameterMismatch", Errc::Conflict},
            {"IdempotentInstanceTerminated", Errc::Conflict},
            {"InvalidParameterValue", Errc::InvalidArgument},
            {"DryRunOperation", Errc::InvalidArgument},
    };
    int checked = 0;
    while (std::getline(lines, line)) {
        if (line.empty())
            continue;
        std::istringstream fields(line);
        std::string file;
        std::string status;
        std::string code;
        std::getline(fields, file, '\t');
        std::getline(fields, status, '\t');
        std::getline(fields, code, '\t');
        CAPTURE(file);
        const std::string body = readFile(dataDir() / "constructed/errors" / file);
        const auto expected = loadJson(dataDir() / "constructed/errors" /
                                       (file.substr(0, file.size() - 4) + ".expected.json"));
        const Error error = classifyReply("RunInstances", std::stoi(status), body);
        CHECK(error.serviceCode == code);
        CHECK(error.serviceCode == str(expected["Error"], "Code"));
        CHECK(error.requestId == str(expected["ResponseMetadata"], "RequestId"));
        CHECK(error.httpStatus == expected["ResponseMetadata"]["HTTPStatusCode"].GetInt());
        CHECK(error.message.find(str(expected["Error"], "Message")) != std::string::npos);
        REQUIRE(expectedKind.count(code) == 1);
        CHECK(error.code == expectedKind.at(code));
        ++checked;
    }
    CHECK(checked == 18);
}

TEST_CASE("auth errors tell the operator what to check") {
    const auto body = [](const char* code) {
        return std::string("<Response><Errors><Error><Code>") + code +
               "</Code><Message>m</Message></Error></Errors><RequestID>r</RequestID></Response>";
    };
    CHECK(classifyReply("RunInstances", 401, body("AuthFailure")).message.find("NTP") !=
          std::string::npos);
    CHECK(classifyReply("RunInstances", 403, body("SignatureDoesNotMatch"))
                  .message.find("secret access key") != std::string::npos);
    CHECK(classifyReply("RunInstances", 403, body("UnauthorizedOperation"))
                  .message.find("ec2:RunInstances") != std::string::npos);
    CHECK(classifyReply("DescribeInstances", 400, body("RequestExpired")).message.find("clock") !=
          std::string::npos);
    // Not retryable by standard mode.
    for (const char* code :
         {"AuthFailure", "SignatureDoesNotMatch", "UnauthorizedOperation", "RequestExpired"})
        CHECK_FALSE(isRetryableByStandardMode(classifyReply("X", 403, body(code))));
}

TEST_CASE("a status without an error envelope is classified by the status alone") {
    CHECK(classifyReply("X", 502, "<html>bad gateway</html>").code == Errc::Unavailable);
    CHECK(classifyReply("X", 503, "").code == Errc::Unavailable);
    CHECK(classifyReply("X", 429, "").code == Errc::Throttled);
    CHECK(classifyReply("X", 400, "garbage").code == Errc::InvalidArgument);
    CHECK(classifyReply("X", 500,
                        "<Response><Errors><Error><Code>InternalError</Code></Error>"
                        "</Errors></Response>")
                  .code == Errc::Unavailable);
}

TEST_CASE("RunInstances serializes every setting with EC2 wire names") {
    RunInstancesRequest r;
    r.imageId = "ami-1";
    r.instanceType = "c5.large";
    r.keyName = "key";
    r.subnetId = "subnet-1";
    r.associatePublicIp = false;
    r.securityGroupIds = {"sg-1", "sg-2"};
    r.userData = "#!/bin/sh\necho hi\n";
    r.iamProfileName = "profile";
    r.deviceName = "/dev/xvda";
    r.volumeSize = 50;
    r.volumeType = "io2";
    r.volumeIops = 3000;
    r.volumeThroughput = 250;
    r.spot = true;
    r.tags = {{"Name", "agent-1"}, {"drone-autoscaler:pool", "p"}};
    r.clientToken = "tok";
    const auto p = asMap(toParams(r));
    CHECK(p.at("ImageId") == "ami-1");
    CHECK(p.at("InstanceType") == "c5.large");
    CHECK(p.at("MinCount") == "1");
    CHECK(p.at("MaxCount") == "1");
    CHECK(p.at("KeyName") == "key");
    CHECK(p.at("UserData") == "IyEvYmluL3NoCmVjaG8gaGkK");
    CHECK(p.at("IamInstanceProfile.Name") == "profile");
    CHECK(p.count("IamInstanceProfile.Arn") == 0);
    CHECK(p.at("BlockDeviceMapping.1.DeviceName") == "/dev/xvda");
    CHECK(p.at("BlockDeviceMapping.1.Ebs.VolumeSize") == "50");
    CHECK(p.at("BlockDeviceMapping.1.Ebs.VolumeType") == "io2");
    CHECK(p.at("BlockDeviceMapping.1.Ebs.Iops") == "3000");
    CHECK(p.at("BlockDeviceMapping.1.Ebs.Throughput") == "250");
    CHECK(p.at("BlockDeviceMapping.1.Ebs.DeleteOnTermination") == "true");
    CHECK(p.at("NetworkInterface.1.DeviceIndex") == "0");
    CHECK(p.at("NetworkInterface.1.SubnetId") == "subnet-1");
    CHECK(p.at("NetworkInterface.1.AssociatePublicIpAddress") == "false");
    CHECK(p.at("NetworkInterface.1.SecurityGroupId.1") == "sg-1");
    CHECK(p.at("NetworkInterface.1.SecurityGroupId.2") == "sg-2");
    CHECK(p.count("SubnetId") == 0); // Not allowed next to NetworkInterface.N.
    CHECK(p.count("SecurityGroupId.1") == 0);
    CHECK(p.at("MetadataOptions.HttpTokens") == "required");
    CHECK(p.at("MetadataOptions.HttpPutResponseHopLimit") == "1");
    CHECK(p.at("InstanceMarketOptions.MarketType") == "spot");
    CHECK(p.at("TagSpecification.1.ResourceType") == "instance");
    CHECK(p.at("TagSpecification.1.Tag.1.Key") == "Name");
    CHECK(p.at("TagSpecification.1.Tag.1.Value") == "agent-1");
    CHECK(p.at("TagSpecification.1.Tag.2.Key") == "drone-autoscaler:pool");
    CHECK(p.at("TagSpecification.2.ResourceType") == "volume");
    CHECK(p.at("TagSpecification.2.Tag.2.Value") == "p");
    CHECK(p.at("ClientToken") == "tok");

    r.iamProfileArn = "arn:aws:iam::1:instance-profile/x";
    r.spot = false;
    const auto q = asMap(toParams(r));
    CHECK(q.at("IamInstanceProfile.Arn") == "arn:aws:iam::1:instance-profile/x");
    CHECK(q.count("IamInstanceProfile.Name") == 0);
    CHECK(q.count("InstanceMarketOptions.MarketType") == 0);
}

TEST_CASE("form bodies percent-encode like botocore") {
    CHECK(formBody("DescribeInstances", kEc2ApiVersion,
                   {{"Filter.1.Name", "tag:Name"}, {"Filter.1.Value.1", "a b+/=~$"}}) ==
          "Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=tag%3AName&"
          "Filter.1.Value.1=a%20b%2B%2F%3D~%24");
    CHECK(formBody("CreateTags", kEc2ApiVersion, {{"Tag.1.Value", ""}}) ==
          "Action=CreateTags&Version=2016-11-15&Tag.1.Value=");
}

TEST_CASE("the fast form encoder agrees with uriEncode on every byte") {
    std::string all;
    for (int c = 0; c < 256; ++c)
        all += static_cast<char>(c);
    for (const std::string& text :
         {all, std::string("plain"), std::string(""), std::string("a b/c"), std::string("%%%")}) {
        std::string out = "x";
        appendUriEncoded(out, text);
        CHECK(out == "x" + uriEncode(text));
    }
}

TEST_CASE("DescribeInstances, TerminateInstances and CreateTags parameters") {
    const auto d = toParams(DescribeInstancesRequest{
            .filters = {{"tag:pool", {"a"}}, {"instance-state-name", {"pending", "running"}}},
            .maxResults = 1000,
            .nextToken = "t"});
    CHECK(d == QueryParams{{"Filter.1.Name", "tag:pool"},
                           {"Filter.1.Value.1", "a"},
                           {"Filter.2.Name", "instance-state-name"},
                           {"Filter.2.Value.1", "pending"},
                           {"Filter.2.Value.2", "running"},
                           {"MaxResults", "1000"},
                           {"NextToken", "t"}});
    // MaxResults is not allowed with instance ids.
    const auto byId = toParams(DescribeInstancesRequest{.instanceIds = {"i-1"}, .maxResults = 5});
    CHECK(byId == QueryParams{{"InstanceId.1", "i-1"}});
    const std::vector<std::string> ids{"i-1", "i-2"};
    CHECK(terminateParams(ids) == QueryParams{{"InstanceId.1", "i-1"}, {"InstanceId.2", "i-2"}});
    const std::vector<Tag> tags{{"k", ""}};
    CHECK(createTagsParams(ids, tags) == QueryParams{{"ResourceId.1", "i-1"},
                                                     {"ResourceId.2", "i-2"},
                                                     {"Tag.1.Key", "k"},
                                                     {"Tag.1.Value", ""}});
}

TEST_CASE("base64 pads like RFC 4648") {
    CHECK(base64Encode("") == "");
    CHECK(base64Encode("f") == "Zg==");
    CHECK(base64Encode("fo") == "Zm8=");
    CHECK(base64Encode("foo") == "Zm9v");
    CHECK(base64Encode("foob") == "Zm9vYg==");
    CHECK(base64Encode("\xff\xfe") == "//4=");
}

TEST_CASE("backoff is full jitter, doubling from 1 s and capped at 20 s") {
    const RetrySettings settings;
    // With the largest unit the delay approaches the ceiling of each attempt.
    const double almostOne = 1.0 - 0x1.0p-53;
    std::vector<long long> ceilings;
    for (int attempt = 1; attempt <= 8; ++attempt)
        ceilings.push_back(backoffDelay(attempt, almostOne, settings).count());
    CHECK(ceilings == std::vector<long long>{999, 1999, 3999, 7999, 15999, 19999, 19999, 19999});
    CHECK(backoffDelay(3, 0.0, settings) == 0ms);
    CHECK(backoffDelay(2, 0.5, settings) == 1000ms);
    CHECK(backoffDelay(200, 0.5, settings) == 10000ms); // No overflow for large attempts.
}

TEST_CASE("a seeded engine gives a reproducible delay sequence") {
    RetrySettings settings;
    RandomEngine engine(42);
    RandomEngine reference(42);
    std::vector<std::chrono::milliseconds> delays;
    for (int attempt = 1; attempt <= 6; ++attempt) {
        const auto d = backoffDelay(attempt, engine, settings);
        const double unit = static_cast<double>(reference() >> 11U) * 0x1.0p-53;
        CHECK(d.count() ==
              static_cast<long long>(unit * std::min(1000.0 * (1 << (attempt - 1)), 20000.0)));
        CHECK(d >= 0ms);
        CHECK(d < std::min(std::chrono::milliseconds(1000 << (attempt - 1)), 20000ms));
        delays.push_back(d);
    }
    RandomEngine again(42);
    for (int attempt = 1; attempt <= 6; ++attempt) {
        CHECK(backoffDelay(attempt, again, settings) ==
              delays[static_cast<std::size_t>(attempt - 1)]);
    }
}

TEST_CASE("standard mode retries throttling and 5xx up to 3 attempts, and not capacity") {
    RetryPolicy policy(RetrySettings{}, 7);
    const Error throttled{.code = Errc::Throttled, .serviceCode = "RequestLimitExceeded"};
    CHECK(policy.delayFor(throttled, 1).has_value());
    CHECK(policy.delayFor(throttled, 2).has_value());
    CHECK_FALSE(policy.delayFor(throttled, 3).has_value());
    CHECK(policy.quotaLeft() == 490);
    CHECK_FALSE(policy.delayFor(Error{.code = Errc::Capacity, .httpStatus = 500}, 1));
    CHECK_FALSE(policy.delayFor(Error{.code = Errc::NotFound}, 1));
    CHECK_FALSE(policy.delayFor(Error{.code = Errc::Unauthorized}, 1));
    CHECK(policy.delayFor(Error{.code = Errc::Timeout}, 1).has_value());
    CHECK(policy.quotaLeft() == 480);
    policy.onSuccess(true); // Refunds the last retry's cost.
    CHECK(policy.quotaLeft() == 490);
    policy.onSuccess(false);
    CHECK(policy.quotaLeft() == 491);
}

TEST_CASE("an empty retry quota stops retries (the circuit breaker)") {
    RetryPolicy policy(RetrySettings{.maxAttempts = 1000, .quota = 500}, 1);
    const Error unavailable{.code = Errc::Unavailable, .httpStatus = 503};
    int retries = 0;
    while (policy.delayFor(unavailable, 1))
        ++retries;
    CHECK(retries == 100); // 500 / 5
    CHECK(policy.quotaLeft() == 0);
    RetryPolicy timeouts(RetrySettings{.maxAttempts = 1000}, 1);
    int timeoutRetries = 0;
    while (timeouts.delayFor(Error{.code = Errc::Timeout}, 1))
        ++timeoutRetries;
    CHECK(timeoutRetries == 50); // 500 / 10
    for (int i = 0; i < 600; ++i)
        timeouts.onSuccess(false);
    CHECK(timeouts.quotaLeft() == 500); // Never above the maximum.
}

TEST_CASE("the shared config INI dialect") {
    const auto file = parseIni("# comment\n"
                               "; another\n"
                               "[default]\n"
                               "aws_access_key_id = AKID1\n"
                               "AWS_Secret_Access_Key=  s3cr=t  \n"
                               "\n"
                               "[profile  ci]\n"
                               "region: us-west-2\n"
                               "aws_session_token = tok # not a comment\n"
                               "services = local\n"
                               "[services local]\n"
                               "ec2 =\n"
                               "  endpoint_url = http://127.0.0.1:5000\n"
                               "other = x\r\n");
    const IniSection* def = credentialsProfile(file, "default");
    REQUIRE(def != nullptr);
    CHECK(def->at("aws_access_key_id") == "AKID1");
    CHECK(def->at("aws_secret_access_key") == "s3cr=t");
    CHECK(configProfile(file, "default") == def);
    const IniSection* ci = configProfile(file, "ci");
    REQUIRE(ci != nullptr);
    CHECK(ci->at("region") == "us-west-2");
    CHECK(ci->at("aws_session_token") == "tok # not a comment");
    CHECK(credentialsProfile(file, "ci") == nullptr);
    const IniSection& services = file.at("services local");
    CHECK(services.at("ec2.endpoint_url") == "http://127.0.0.1:5000");
    CHECK(services.at("other") == "x");
}

} // namespace
} // namespace autoscale::aws
