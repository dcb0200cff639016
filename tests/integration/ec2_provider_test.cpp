// SPDX-License-Identifier: Apache-2.0
/// \file
/// Ec2Provider against the fake EC2 on loopback: real libcurl, every request's signature
/// checked by the fake, frozen time (FakeClock; retries "sleep" instantly).

#include <algorithm>
#include <chrono>
#include <csignal>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <doctest/doctest.h>
#include <sqlite3.h>

#include <autoscale/api_server.h>
#include <autoscale/ec2_provider.h>
#include <autoscale/engine.h>
#include <autoscale/sqlite_store.h>

#include "aws/ec2_client.h"
#include "doctest_support.h"
#include "fake_clock.h"
#include "fake_ec2.h"
#include "fakes.h"
#include "process.h"
#include "temp_dir.h"

namespace autoscale {
namespace {

using namespace std::chrono_literals;

// 2015-08-30T12:36:00Z
const WallTime kT0 = WallTime{std::chrono::seconds{1440938160}};

AwsCredentials testCredentials() {
    return AwsCredentials{.accessKeyId = test::kTestAccessKeyId,
                          .secretAccessKey = test::kTestSecretKey,
                          .source = "test"};
}

Ec2Options baseOptions(const std::string& endpoint) {
    Ec2Options options;
    options.endpoint = endpoint;
    options.poolName = "pool-a";
    options.owner = "drone.example.com";
    options.seed = 1234;
    options.amazon.image = "ami-0abc";
    options.amazon.instanceType = "t3.medium";
    options.amazon.subnetId = "subnet-a";
    options.amazon.securityGroups = {"sg-1", "sg-2"};
    options.amazon.sshKey = "ci-key";
    options.amazon.tags = {{"team", "ci"}, {"cost center", "a&b <c>"}};
    options.amazon.volumeIops = 4000;
    options.amazon.volumeThroughput = 200;
    options.amazon.iamProfileArn = "arn:aws:iam::123456789012:instance-profile/runner";
    return options;
}

struct Fixture {
    test::FakeClock clock{kT0};
    test::FakeEc2 ec2{clock, test::FakeEc2Options{.pendingFor = 30s}};
    MemorySink log;
    std::unique_ptr<Provider> provider;

    Fixture() { rebuild(baseOptions(ec2.endpoint())); }

    void rebuild(const Ec2Options& options, AwsCredentials creds = testCredentials()) {
        auto made = makeEc2Provider(
                options,
                std::shared_ptr<CredentialsSource>(makeStaticCredentials(std::move(creds))), clock,
                {}, &log);
        REQUIRE(made);
        provider = std::move(*made);
    }

    [[nodiscard]] long long loggedDelayMs() const {
        long long total = 0;
        for (const auto& record : log.records()) {
            for (const auto& field : record.fields) {
                if (field.key == "delay_ms")
                    total += std::stoll(field.value);
            }
        }
        return total;
    }
};

TEST_CASE_FIXTURE(Fixture, "create sends one signed RunInstances carrying every setting and tag") {
    const auto created = provider->create(
            {.serverName = "agent-1", .clientToken = "tok-1", .userData = "#cloud-config\n"});
    REQUIRE(created);
    CHECK(created->state == InstanceState::Pending);
    CHECK(created->serverName == "agent-1");
    CHECK(ec2.signatureFailures() == 0);
    const auto calls = ec2.calls("RunInstances");
    REQUIRE(calls.size() == 1);
    const auto& c = calls[0];
    CHECK(c.status == 200);
    CHECK(c.param("ImageId") == "ami-0abc");
    CHECK(c.param("InstanceType") == "t3.medium");
    CHECK(c.param("KeyName") == "ci-key");
    CHECK(c.param("ClientToken") == "tok-1");
    CHECK(c.param("UserData") == "I2Nsb3VkLWNvbmZpZwo=");
    CHECK(c.param("NetworkInterface.1.SubnetId") == "subnet-a");
    CHECK(c.param("NetworkInterface.1.AssociatePublicIpAddress") == "true");
    CHECK(c.param("NetworkInterface.1.SecurityGroupId.2") == "sg-2");
    CHECK(c.param("IamInstanceProfile.Arn") == "arn:aws:iam::123456789012:instance-profile/runner");
    CHECK(c.param("BlockDeviceMapping.1.DeviceName") == "/dev/sda1");
    CHECK(c.param("BlockDeviceMapping.1.Ebs.VolumeSize") == "32");
    CHECK(c.param("BlockDeviceMapping.1.Ebs.VolumeType") == "gp3");
    CHECK(c.param("BlockDeviceMapping.1.Ebs.Iops") == "4000");
    CHECK(c.param("BlockDeviceMapping.1.Ebs.Throughput") == "200");
    CHECK(c.param("MetadataOptions.HttpTokens") == "required");
    CHECK(c.param("MetadataOptions.HttpPutResponseHopLimit") == "1");
    CHECK_FALSE(c.has("InstanceMarketOptions.MarketType"));
    CHECK(c.headers.at("x-amz-date") == "20150830T123600Z");
    CHECK(c.headers.at("authorization")
                  .starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/ec2/"
                               "aws4_request, SignedHeaders=content-type;host;x-amz-date, "));

    const auto instances = ec2.instances();
    REQUIRE(instances.size() == 1);
    const auto& fake = instances.begin()->second;
    const std::map<std::string, std::string> expectedTags{
            {"Name", "agent-1"},
            {"drone-autoscaler:pool", "pool-a"},
            {"drone-autoscaler:server", "agent-1"},
            {"drone-autoscaler:owner", "drone.example.com"},
            {"team", "ci"},
            {"cost center", "a&b <c>"}};
    CHECK(fake.tags == expectedTags);
    CHECK(fake.volumeTags == expectedTags);
    CHECK(created->tags == expectedTags);
}

TEST_CASE_FIXTURE(Fixture, "spot market and private addressing reach the request") {
    auto options = baseOptions(ec2.endpoint());
    options.amazon.marketType = "spot";
    options.amazon.privateIp = true;
    options.amazon.iamProfileArn.clear();
    options.amazon.iamProfileName = "runner";
    rebuild(options);
    const auto created = provider->create({.serverName = "agent-2", .clientToken = "t2"});
    REQUIRE(created);
    const auto c = ec2.calls("RunInstances").at(0);
    CHECK(c.param("InstanceMarketOptions.MarketType") == "spot");
    CHECK(c.param("NetworkInterface.1.AssociatePublicIpAddress") == "false");
    CHECK(c.param("IamInstanceProfile.Name") == "runner");
    CHECK_FALSE(c.has("IamInstanceProfile.Arn"));
    clock.advance(31s);
    const auto running = provider->describe(created->id);
    REQUIRE(running);
    CHECK(running->state == InstanceState::Running);
    CHECK(running->publicIp.empty());
    CHECK_FALSE(running->privateIp.empty());
    CHECK(addressOf(*running, options.amazon) == running->privateIp);
}

TEST_CASE_FIXTURE(Fixture, "pending becomes running and gets its public address") {
    const auto created = provider->create({.serverName = "agent-1", .clientToken = "tok"});
    REQUIRE(created);
    clock.advance(29s);
    auto seen = provider->describe(created->id);
    REQUIRE(seen);
    CHECK(seen->state == InstanceState::Pending);
    clock.advance(1s);
    seen = provider->describe(created->id);
    REQUIRE(seen);
    CHECK(seen->state == InstanceState::Running);
    CHECK_FALSE(seen->publicIp.empty());
    CHECK(addressOf(*seen, AmazonSettings{}) == seen->publicIp);
    CHECK(seen->launchTime == kT0);
}

TEST_CASE_FIXTURE(Fixture, "capacity errors walk types and subnets with a fresh token each") {
    auto options = baseOptions(ec2.endpoint());
    options.amazon.instanceTypesAlt = {"t3.large"};
    options.amazon.subnetIdsAlt = {"subnet-b"};
    rebuild(options);
    ec2.faults([](test::FakeEc2Faults& f) {
        f.capacityByType["t3.medium"] = "InsufficientInstanceCapacity";
        f.capacityBySubnet["subnet-a"] = "InsufficientFreeAddressesInSubnet";
    });
    const auto created = provider->create({.serverName = "agent-1", .clientToken = "tok"});
    REQUIRE(created);
    CHECK(created->instanceType == "t3.large");
    auto calls = ec2.calls("RunInstances");
    REQUIRE(calls.size() == 4);
    const std::vector<std::pair<std::string, std::string>> expected{{"t3.medium", "subnet-a"},
                                                                    {"t3.medium", "subnet-b"},
                                                                    {"t3.large", "subnet-a"},
                                                                    {"t3.large", "subnet-b"}};
    std::set<std::string> tokens;
    for (std::size_t i = 0; i < calls.size(); ++i) {
        CHECK(calls[i].param("InstanceType") == expected[i].first);
        CHECK(calls[i].param("NetworkInterface.1.SubnetId") == expected[i].second);
        tokens.insert(calls[i].param("ClientToken"));
    }
    CHECK(tokens == std::set<std::string>{"tok", "tok-2", "tok-3", "tok-4"});
    // Capacity errors are not retried in place: one call per combination.
    CHECK(calls[0].errorCode == "InsufficientInstanceCapacity");
    CHECK(ec2.instances().size() == 1);

    // Within 3 minutes the failed combinations are skipped.
    ec2.clearCalls();
    clock.advance(179s);
    REQUIRE(provider->create({.serverName = "agent-2", .clientToken = "tok2"}));
    calls = ec2.calls("RunInstances");
    REQUIRE(calls.size() == 1);
    CHECK(calls[0].param("InstanceType") == "t3.large");
    CHECK(calls[0].param("NetworkInterface.1.SubnetId") == "subnet-b");
    CHECK(calls[0].param("ClientToken") == "tok2-4");

    // After the cooldown, the preferred combination is tried again.
    ec2.clearCalls();
    clock.advance(2s);
    ec2.faults([](test::FakeEc2Faults& f) {
        f.capacityByType.clear();
        f.capacityBySubnet.clear();
    });
    const auto third = provider->create({.serverName = "agent-3", .clientToken = "tok3"});
    REQUIRE(third);
    calls = ec2.calls("RunInstances");
    REQUIRE(calls.size() == 1);
    CHECK(calls[0].param("InstanceType") == "t3.medium");
    CHECK(calls[0].param("NetworkInterface.1.SubnetId") == "subnet-a");
}

TEST_CASE_FIXTURE(Fixture, "without a primary subnet only the alternates are tried") {
    auto options = baseOptions(ec2.endpoint());
    options.amazon.subnetId.clear();
    options.amazon.subnetIdsAlt = {"subnet-x", "subnet-y"};
    rebuild(options);
    ec2.faults([](test::FakeEc2Faults& f) {
        f.capacityBySubnet["subnet-x"] = "InsufficientFreeAddressesInSubnet";
    });
    REQUIRE(provider->create({.serverName = "agent-1", .clientToken = "tok"}));
    const auto calls = ec2.calls("RunInstances");
    REQUIRE(calls.size() == 2);
    CHECK(calls[0].param("NetworkInterface.1.SubnetId") == "subnet-x");
    CHECK(calls[1].param("NetworkInterface.1.SubnetId") == "subnet-y");

    options.amazon.subnetIdsAlt.clear();
    rebuild(options);
    ec2.clearCalls();
    REQUIRE(provider->create({.serverName = "agent-2", .clientToken = "tok2"}));
    CHECK_FALSE(ec2.calls("RunInstances").at(0).has("NetworkInterface.1.SubnetId"));
}

TEST_CASE_FIXTURE(Fixture, "no capacity anywhere is Errc::Capacity naming what was tried") {
    auto options = baseOptions(ec2.endpoint());
    options.amazon.instanceTypesAlt = {"c5.large"};
    rebuild(options);
    ec2.faults([](test::FakeEc2Faults& f) {
        f.capacityByType["t3.medium"] = "VcpuLimitExceeded";
        f.capacityByType["c5.large"] = "Unsupported";
    });
    const auto created = provider->create({.serverName = "agent-1", .clientToken = "tok"});
    REQUIRE_FALSE(created);
    CHECK(created.error().code == Errc::Capacity);
    CHECK_FALSE(created.error().retryable());
    CHECK(created.error().message.find("t3.medium/subnet-a (VcpuLimitExceeded)") !=
          std::string::npos);
    CHECK(created.error().message.find("c5.large/subnet-a (Unsupported)") != std::string::npos);
    CHECK(ec2.calls("RunInstances").size() == 2);
    // Everything is cooling down: no call at all.
    const auto again = provider->create({.serverName = "agent-2", .clientToken = "tok2"});
    REQUIRE_FALSE(again);
    CHECK(again.error().code == Errc::Capacity);
    CHECK(again.error().message.find("skipped") != std::string::npos);
    CHECK(ec2.calls("RunInstances").size() == 2);
}

TEST_CASE_FIXTURE(Fixture, "throttling is retried with backoff through the clock, same token") {
    ec2.faults([](test::FakeEc2Faults& f) {
        f.scripted = {{503, "RequestLimitExceeded"}, {500, "InternalError"}};
    });
    const SteadyTime before = clock.steadyNow();
    const auto created = provider->create({.serverName = "agent-1", .clientToken = "tok"});
    REQUIRE(created);
    const auto calls = ec2.calls("RunInstances");
    REQUIRE(calls.size() == 3);
    for (const auto& call : calls)
        CHECK(call.param("ClientToken") == "tok");
    CHECK(calls[0].errorCode == "RequestLimitExceeded");
    CHECK(calls[1].errorCode == "InternalError");
    // The fake clock moved by exactly the delays the provider logged; nothing slept.
    const auto slept =
            std::chrono::duration_cast<std::chrono::milliseconds>(clock.steadyNow() - before);
    CHECK(slept.count() == loggedDelayMs());
    CHECK(slept <= 1000ms + 2000ms);
    CHECK(ec2.signatureFailures() == 0);
}

TEST_CASE_FIXTURE(Fixture, "throttling on every attempt fails after 3 attempts, keeping the ids") {
    ec2.faults([](test::FakeEc2Faults& f) {
        f.scripted = {{503, "RequestLimitExceeded"},
                      {503, "RequestLimitExceeded"},
                      {503, "RequestLimitExceeded"},
                      {503, "RequestLimitExceeded"}};
    });
    const auto listed = provider->list();
    REQUIRE_FALSE(listed);
    CHECK(listed.error().code == Errc::Throttled);
    CHECK(listed.error().retryable());
    CHECK(listed.error().httpStatus == 503);
    CHECK(listed.error().serviceCode == "RequestLimitExceeded");
    CHECK(listed.error().requestId.starts_with("fa4e0000-"));
    CHECK(ec2.calls().size() == 3);
}

TEST_CASE_FIXTURE(Fixture, "throttling every Nth call still completes a full listing") {
    ec2.addInstances(30, {{"drone-autoscaler:pool", "pool-a"},
                          {"drone-autoscaler:owner", "drone.example.com"}});
    auto options = baseOptions(ec2.endpoint());
    options.describePageSize = 5;
    rebuild(options);
    ec2.faults([](test::FakeEc2Faults& f) { f.throttleEvery = 3; });
    const auto listed = provider->list();
    REQUIRE(listed);
    CHECK(listed->size() == 30);
}

TEST_CASE_FIXTURE(Fixture, "list pages through 2,500 instances and keeps only ours") {
    const auto ours = ec2.addInstances(2500, {{"drone-autoscaler:pool", "pool-a"},
                                              {"drone-autoscaler:owner", "drone.example.com"},
                                              {"drone-autoscaler:server", "s"}});
    ec2.addInstances(10, {{"drone-autoscaler:pool", "pool-b"},
                          {"drone-autoscaler:owner", "drone.example.com"}});
    ec2.addInstances(10, {{"drone-autoscaler:pool", "pool-a"},
                          {"drone-autoscaler:owner", "other.example.com"}});
    ec2.addInstances(
            5,
            {{"drone-autoscaler:pool", "pool-a"}, {"drone-autoscaler:owner", "drone.example.com"}},
            "terminated");
    const auto listed = provider->list();
    REQUIRE(listed);
    CHECK(listed->size() == 2500);
    std::set<std::string> ids;
    for (const auto& i : *listed)
        ids.insert(i.id);
    CHECK(ids == std::set<std::string>(ours.begin(), ours.end()));
    const auto calls = ec2.calls("DescribeInstances");
    REQUIRE(calls.size() == 3);
    CHECK(calls[0].param("MaxResults") == "1000");
    CHECK_FALSE(calls[0].has("NextToken"));
    CHECK(calls[1].has("NextToken"));
    CHECK(calls[0].param("Filter.1.Name") == "tag:drone-autoscaler:pool");
    CHECK(calls[0].param("Filter.2.Value.1") == "drone.example.com");

    // destroy batches at most 1000 ids per TerminateInstances.
    std::vector<std::string> all(ids.begin(), ids.end());
    const auto destroyed = provider->destroy(all);
    INFO((destroyed ? std::string() : destroyed.error().message));
    REQUIRE(destroyed);
    const auto terminations = ec2.calls("TerminateInstances");
    REQUIRE(terminations.size() == 3);
    CHECK(terminations[0].has("InstanceId.1000"));
    CHECK_FALSE(terminations[0].has("InstanceId.1001"));
    CHECK(terminations[2].has("InstanceId.500"));
    CHECK_FALSE(terminations[2].has("InstanceId.501"));
    CHECK(provider->list()->size() == 2500); // shutting-down still counts
    clock.advance(20s);
    const auto after = provider->list();
    REQUIRE(after);
    CHECK(after->empty());
}

TEST_CASE_FIXTURE(Fixture, "NotFound right after launch is 'not visible yet', later 'gone'") {
    ec2.faults([](test::FakeEc2Faults& f) { f.notFoundWindow = 10s; });
    const auto created = provider->create({.serverName = "agent-1", .clientToken = "tok"});
    REQUIRE(created);
    const auto early = provider->describe(created->id);
    REQUIRE_FALSE(early);
    CHECK(early.error().code == Errc::Unavailable);
    CHECK(early.error().retryable());
    CHECK(early.error().serviceCode == "InvalidInstanceID.NotFound");
    clock.advance(10s);
    const auto visible = provider->describe(created->id);
    REQUIRE(visible);
    CHECK(visible->id == created->id);
    const auto unknown = provider->describe("i-00000000000000bad");
    REQUIRE_FALSE(unknown);
    CHECK(unknown.error().code == Errc::NotFound);
    CHECK_FALSE(unknown.error().retryable());
}

TEST_CASE_FIXTURE(Fixture, "destroy counts unknown ids as gone and terminates the others") {
    const auto ids = ec2.addInstances(3, {});
    const std::vector<std::string> batch{ids[0], "i-0000000000000dead", ids[2]};
    REQUIRE(provider->destroy(batch));
    const auto instances = ec2.instances();
    CHECK(instances.at(ids[0]).state == "shutting-down");
    CHECK(instances.at(ids[1]).state == "running");
    CHECK(instances.at(ids[2]).state == "shutting-down");
    CHECK(ec2.calls("TerminateInstances").size() == 4); // The batch, then one by one.
    // Terminating again is fine (idempotent).
    REQUIRE(provider->destroy(batch));
    REQUIRE(provider->destroy({}));
}

TEST_CASE_FIXTURE(Fixture, "a truncated reply is a Parse error; a proxy's 502 page is retried") {
    ec2.faults([](test::FakeEc2Faults& f) { f.truncateNext = 1; });
    const auto truncated = provider->list();
    REQUIRE_FALSE(truncated);
    CHECK(truncated.error().code == Errc::Parse);
    ec2.faults([](test::FakeEc2Faults& f) { f.plainTextNext = true; });
    const auto listed = provider->list();
    REQUIRE(listed);
    const auto calls = ec2.calls("DescribeInstances");
    REQUIRE(calls.size() == 3);
    CHECK(calls[1].status == 502);
}

TEST_CASE_FIXTURE(Fixture, "a wrong secret is SignatureDoesNotMatch, not retried, with advice") {
    auto creds = testCredentials();
    creds.secretAccessKey = "wrong";
    rebuild(baseOptions(ec2.endpoint()), creds);
    const auto listed = provider->list();
    REQUIRE_FALSE(listed);
    CHECK(listed.error().code == Errc::Unauthorized);
    CHECK(listed.error().serviceCode == "SignatureDoesNotMatch");
    CHECK(listed.error().httpStatus == 403);
    CHECK(listed.error().message.find("check the secret access key") != std::string::npos);
    CHECK(listed.error().message.find("wrong") == std::string::npos); // No secret in messages.
    CHECK(ec2.calls().size() == 1);
    CHECK(ec2.signatureFailures() == 1);
    CHECK(log.text().find("wrong") == std::string::npos);
}

TEST_CASE("a skewed clock gets RequestExpired, re-signed once, then fails with advice") {
    test::FakeClock serverClock{kT0};
    test::FakeEc2 ec2{serverClock};
    test::FakeClock clientClock{kT0 + 20min};
    auto made = makeEc2Provider(
            baseOptions(ec2.endpoint()),
            std::shared_ptr<CredentialsSource>(makeStaticCredentials(testCredentials())),
            clientClock);
    REQUIRE(made);
    const auto listed = (*made)->list();
    REQUIRE_FALSE(listed);
    CHECK(listed.error().code == Errc::Unauthorized);
    CHECK(listed.error().serviceCode == "RequestExpired");
    CHECK(listed.error().message.find("clock") != std::string::npos);
    CHECK(ec2.calls().size() == 2);
}

TEST_CASE_FIXTURE(Fixture, "the same client token never launches a second instance") {
    const auto first = provider->create({.serverName = "agent-1", .clientToken = "same"});
    const auto second = provider->create({.serverName = "agent-1", .clientToken = "same"});
    REQUIRE(first);
    REQUIRE(second);
    CHECK(first->id == second->id);
    CHECK(ec2.instances().size() == 1);
    // Same token, different parameters: a Conflict, not a second instance.
    const auto other = provider->create({.serverName = "agent-9", .clientToken = "same"});
    REQUIRE_FALSE(other);
    CHECK(other.error().code == Errc::Conflict);
    CHECK(ec2.instances().size() == 1);
}

TEST_CASE_FIXTURE(Fixture, "the provider can be used from several threads") {
    std::vector<std::jthread> threads;
    threads.reserve(4);
    std::atomic<int> ok{0};
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int n = 0; n < 3; ++n) {
                const std::string name = "agent-" + std::to_string(t) + "-" + std::to_string(n);
                if (provider->create({.serverName = name, .clientToken = name}))
                    ++ok;
                if (provider->list())
                    ++ok;
            }
        });
    }
    threads.clear();
    CHECK(ok == 24);
    CHECK(ec2.instances().size() == 12);
    CHECK(ec2.signatureFailures() == 0);
}

TEST_CASE("the factory rejects missing settings and resolves endpoints") {
    test::FakeClock clock;
    Ec2Options options;
    auto creds = std::shared_ptr<CredentialsSource>(makeStaticCredentials(testCredentials()));
    const auto noImage = makeEc2Provider(options, creds, clock);
    REQUIRE_FALSE(noImage);
    CHECK(noImage.error().code == Errc::InvalidArgument);
    options.amazon.image = "ami-1";
    const auto noPool = makeEc2Provider(options, creds, clock);
    REQUIRE_FALSE(noPool);
    CHECK(noPool.error().code == Errc::InvalidArgument);

    AwsEnvironment env;
    options.amazon.region = "eu-west-1";
    CHECK(resolveEc2Endpoint(options, env) == "https://ec2.eu-west-1.amazonaws.com");
    env.endpoint = "http://127.0.0.1:4566";
    CHECK(resolveEc2Endpoint(options, env) == "http://127.0.0.1:4566");
    env.endpointEc2 = "http://127.0.0.1:5000";
    CHECK(resolveEc2Endpoint(options, env) == "http://127.0.0.1:5000");
    options.endpoint = "http://127.0.0.1:6000";
    CHECK(resolveEc2Endpoint(options, env) == "http://127.0.0.1:6000");
    options.endpoint.clear();
    options.amazon.region = "cn-north-1";
    env = {};
    CHECK(resolveEc2Endpoint(options, env) == "https://ec2.cn-north-1.amazonaws.com.cn");
}

} // namespace
} // namespace autoscale

namespace autoscale {
namespace {

using namespace std::chrono_literals;

/// Hands out a stale session token until invalidated, then the good one.
class RotatingCredentials final : public CredentialsSource {
public:
    Result<AwsCredentials> credentials() override {
        ++calls;
        return AwsCredentials{.accessKeyId = test::kTestAccessKeyId,
                              .secretAccessKey = test::kTestSecretKey,
                              .sessionToken = invalidated ? "good-token" : "stale-token"};
    }
    void invalidate() override { invalidated = true; }
    int calls = 0;
    bool invalidated = false;
};

TEST_CASE("AuthFailure with temporary credentials refreshes them once and re-signs") {
    test::FakeClock clock{kT0};
    test::FakeEc2 ec2{clock, test::FakeEc2Options{.sessionToken = "good-token"}};
    auto rotating = std::make_shared<RotatingCredentials>();
    auto made = makeEc2Provider(baseOptions(ec2.endpoint()), rotating, clock);
    REQUIRE(made);
    REQUIRE((*made)->list());
    CHECK(rotating->invalidated);
    const auto calls = ec2.calls();
    REQUIRE(calls.size() == 2);
    CHECK(calls[0].errorCode == "AuthFailure");
    CHECK(calls[1].headers.at("x-amz-security-token") == "good-token");
    CHECK(calls[1].headers.at("authorization").find("x-amz-security-token") != std::string::npos);
}

TEST_CASE("AuthFailure with long-term keys is not retried") {
    test::FakeClock clock{kT0};
    test::FakeEc2 ec2{clock, test::FakeEc2Options{.accessKeyId = "AKIDOTHER"}};
    auto made = makeEc2Provider(
            baseOptions(ec2.endpoint()),
            std::shared_ptr<CredentialsSource>(makeStaticCredentials(testCredentials())), clock);
    REQUIRE(made);
    const auto listed = (*made)->list();
    REQUIRE_FALSE(listed);
    CHECK(listed.error().code == Errc::Unauthorized);
    CHECK(listed.error().serviceCode == "AuthFailure");
    CHECK(listed.error().message.find("check that the access key id") != std::string::npos);
    CHECK(ec2.calls().size() == 1);
}

TEST_CASE("DRONE_AMAZON_RETRIES sets the attempts of every call") {
    test::FakeClock clock{kT0};
    test::FakeEc2 ec2{clock};
    ec2.faults([](test::FakeEc2Faults& f) { f.throttleEvery = 1; });
    auto options = baseOptions(ec2.endpoint());
    options.amazon.retries = 5;
    auto made = makeEc2Provider(
            options, std::shared_ptr<CredentialsSource>(makeStaticCredentials(testCredentials())),
            clock);
    REQUIRE(made);
    const auto listed = (*made)->list();
    REQUIRE_FALSE(listed);
    CHECK(listed.error().code == Errc::Throttled);
    CHECK(ec2.calls().size() == 5);
}

TEST_CASE("the environment factory finds keys and AWS_ENDPOINT_URL_EC2") {
    test::FakeClock clock{kT0};
    test::FakeEc2 ec2{clock};
    AwsEnvironment env;
    env.accessKeyId = test::kTestAccessKeyId;
    env.secretAccessKey = test::kTestSecretKey;
    env.metadataDisabled = true;
    env.sharedCredentialsFile = "/nonexistent";
    env.configFile = "/nonexistent";
    env.endpoint = "http://127.0.0.1:1"; // Loses to the EC2-specific override.
    env.endpointEc2 = ec2.endpoint();
    auto options = baseOptions("");
    auto made = makeEc2Provider(options, env, clock);
    REQUIRE(made);
    const auto created = (*made)->create({.serverName = "agent-env", .clientToken = "env-1"});
    REQUIRE(created);
    CHECK(ec2.instances().count(created->id) == 1);
    CHECK(ec2.signatureFailures() == 0);
}

TEST_CASE("user data over 16 KiB is refused before any call") {
    test::FakeClock clock{kT0};
    test::FakeEc2 ec2{clock};
    auto made = makeEc2Provider(
            baseOptions(ec2.endpoint()),
            std::shared_ptr<CredentialsSource>(makeStaticCredentials(testCredentials())), clock);
    REQUIRE(made);
    const auto tooBig = (*made)->create(
            {.serverName = "a", .clientToken = "t", .userData = std::string(16 * 1024 + 1, 'x')});
    REQUIRE_FALSE(tooBig);
    CHECK(tooBig.error().code == Errc::InvalidArgument);
    CHECK(ec2.calls().empty());
    REQUIRE((*made)->create({.serverName = "a",
                             .clientToken = "t",
                             .userData = std::string(std::size_t{16} * 1024, 'x')}));
}

// drone/autoscaler's instances carry only `Name` and the user's tags, so our
// tagged listing never shows them: the row must not be closed as vanished
// while the instance runs on, unmanaged and billed.
TEST_CASE("an adopted drone/autoscaler instance without our tags is drained and terminated, "
          "never vanished") {
    test::FakeClock clock{kT0};
    test::FakeEc2 ec2{clock, test::FakeEc2Options{.pendingFor = 30s, .terminatingFor = 20s}};
    const auto ids = ec2.addInstances(1, {{"Name", "agent-legacy01"}, {"team", "ci"}});
    REQUIRE(ids.size() == 1);
    const std::string legacyId = ids[0];

    test::TempDir dir;
    const std::string path = dir.file("database.sqlite");
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    const std::string created = std::to_string(
            std::chrono::duration_cast<std::chrono::seconds>((kT0 - 24h).time_since_epoch())
                    .count());
    const std::string legacy =
            "CREATE TABLE servers (server_name TEXT PRIMARY KEY, server_id TEXT,"
            " server_provider TEXT, server_state TEXT, server_image TEXT, server_region TEXT,"
            " server_size TEXT, server_platform TEXT, server_address TEXT,"
            " server_capacity INTEGER, server_secret TEXT, server_error TEXT,"
            " server_ca_key TEXT, server_ca_cert TEXT, server_tls_key TEXT,"
            " server_tls_cert TEXT, server_created INTEGER, server_updated INTEGER,"
            " server_started INTEGER, server_stopped INTEGER);"
            "INSERT INTO servers VALUES ('agent-legacy01', '" +
            legacyId +
            "', 'amazon', 'running', 'ami-1', 'us-east-1a', 't3.medium', '', '10.0.0.7', 2, '',"
            " '', '', '', '', '', " +
            created + ", " + created + ", " + created + ", 0);";
    REQUIRE(sqlite3_exec(db, legacy.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);

    auto store = openSqliteStore({.path = path});
    REQUIRE(store);
    REQUIRE((*store)->find("agent-legacy01")->state == ServerState::Draining);

    MemorySink log;
    auto provider = makeEc2Provider(
            baseOptions(ec2.endpoint()),
            std::shared_ptr<CredentialsSource>(makeStaticCredentials(testCredentials())), clock, {},
            &log);
    REQUIRE(provider);
    // The premise: our tagged listing does not see drone/autoscaler's instance.
    REQUIRE((*provider)->list()->empty());

    test::FakeQueue queue;
    test::FakeInstaller installer;
    EngineOptions options;
    options.pool.min = 0;
    options.pool.max = 4;
    options.pool.concurrency = 2;
    options.interval = 10s;
    options.workers = 0;
    options.timeoutStop = 1h;
    Engine engine(options, **store, **provider, queue, installer, clock,
                  Logger(log, clock, "engine", LogLevel::Debug));
    for (int i = 0; i < 6; ++i) {
        REQUIRE(engine.cycle());
        clock.advance(options.interval);
    }

    const auto row = (*store)->find("agent-legacy01");
    REQUIRE(row);
    CHECK(row->state == ServerState::Terminated);
    CHECK(row->error.find("vanished") == std::string::npos);
    CHECK(engine.metrics().vanished == 0);
    const auto instance = ec2.instances().at(legacyId);
    CHECK((instance.state == "shutting-down" || instance.state == "terminated"));
    bool terminatedIt = false;
    for (const auto& call : ec2.calls("TerminateInstances")) {
        for (const auto& [key, value] : call.params)
            terminatedIt = terminatedIt || (key.starts_with("InstanceId.") && value == legacyId);
    }
    CHECK(terminatedIt);
}

} // namespace
} // namespace autoscale

// Spot: the walk over (type, subnet, market), the on-demand fallback, the 3-minute
// memory of refused choices, client tokens across the walk, reclaims.
namespace autoscale {
namespace {

using namespace std::chrono_literals;

/// The pool: spot, fallback on, t3.medium and t3a.medium, two subnets.
Ec2Options spotOptions(const std::string& endpoint) {
    Ec2Options options = baseOptions(endpoint);
    options.amazon.marketType = "spot";
    options.amazon.spotFallback = true;
    options.amazon.instanceType = "t3.medium";
    options.amazon.instanceTypesAlt = {"t3a.medium"};
    options.amazon.subnetId = "subnet-a";
    options.amazon.subnetIdsAlt = {"subnet-b"};
    return options;
}

struct SpotFixture : Fixture {
    SpotFixture() { rebuild(spotOptions(ec2.endpoint())); }

    /// RunInstances calls for one (market, type, subnet).
    [[nodiscard]] std::size_t runs(const std::string& market, const std::string& type,
                                   const std::string& subnet) const {
        const auto calls = ec2.calls("RunInstances");
        return static_cast<std::size_t>(
                std::count_if(calls.begin(), calls.end(), [&](const test::FakeEc2Call& c) {
                    return c.market() == market && c.instanceType() == type && c.subnet() == subnet;
                }));
    }

    [[nodiscard]] std::size_t runs(const std::string& market) const {
        const auto calls = ec2.calls("RunInstances");
        return static_cast<std::size_t>(
                std::count_if(calls.begin(), calls.end(),
                              [&](const test::FakeEc2Call& c) { return c.market() == market; }));
    }
};

const std::vector<std::pair<std::string, std::string>> kWalk{{"t3.medium", "subnet-a"},
                                                             {"t3.medium", "subnet-b"},
                                                             {"t3a.medium", "subnet-a"},
                                                             {"t3a.medium", "subnet-b"}};

TEST_CASE_FIXTURE(SpotFixture, "a spot launch asks for one-time spot that terminates, no price") {
    const auto created = provider->create({.serverName = "agent-1", .clientToken = "tok"});
    REQUIRE(created);
    CHECK(created->market == "spot");
    const auto calls = ec2.calls("RunInstances");
    REQUIRE(calls.size() == 1);
    const auto& c = calls[0];
    CHECK(c.param("InstanceMarketOptions.MarketType") == "spot");
    CHECK(c.param("InstanceMarketOptions.SpotOptions.SpotInstanceType") == "one-time");
    CHECK(c.param("InstanceMarketOptions.SpotOptions.InstanceInterruptionBehavior") == "terminate");
    CHECK_FALSE(c.has("InstanceMarketOptions.SpotOptions.MaxPrice"));
    CHECK(c.param("ClientToken") == "tok");
    CHECK(ec2.signatureFailures() == 0);
    const auto fake = ec2.instances().at(created->id);
    CHECK(fake.lifecycle == "spot");
    CHECK(fake.interruptionBehavior == "terminate");
    CHECK(provider->coolingDown().empty());
}

TEST_CASE_FIXTURE(SpotFixture,
                  "no spot capacity anywhere: 3 creates give 3 on-demand instances, each spot "
                  "choice tried once in 3 minutes, and spot wins again when capacity returns") {
    ec2.refuseCapacity({.market = "spot"});
    std::vector<Instance> created;
    for (int n = 1; n <= 3; ++n) {
        const std::string name = "agent-" + std::to_string(n);
        auto one = provider->create({.serverName = name, .clientToken = "tok-" + name});
        INFO((one ? std::string() : one.error().message));
        REQUIRE(one);
        CHECK(one->market == "on-demand");
        created.push_back(*one);
    }
    CHECK(ec2.instances().size() == 3);
    for (const auto& [id, fake] : ec2.instances())
        CHECK(fake.lifecycle.empty());
    // Each spot choice once, in the walk order (types first), then on-demand.
    const auto calls = ec2.calls("RunInstances");
    REQUIRE(calls.size() == 4 + 3);
    for (std::size_t i = 0; i < kWalk.size(); ++i) {
        CAPTURE(i);
        CHECK(calls[i].market() == "spot");
        CHECK(calls[i].instanceType() == kWalk[i].first);
        CHECK(calls[i].subnet() == kWalk[i].second);
        CHECK(calls[i].errorCode == "InsufficientInstanceCapacity");
        CHECK(calls[i].status == 500);
    }
    for (std::size_t i = 4; i < calls.size(); ++i) {
        CHECK(calls[i].market() == "on-demand");
        CHECK_FALSE(calls[i].has("InstanceMarketOptions.MarketType"));
        CHECK(calls[i].instanceType() == "t3.medium");
        CHECK(calls[i].subnet() == "subnet-a");
        CHECK(calls[i].status == 200);
    }
    CHECK(log.text().find("no spot capacity, launching on-demand") != std::string::npos);
    CHECK(ec2.signatureFailures() == 0);

    // The provider reports what is cooling down, and until when.
    const SteadyTime refusedAt = clock.steadyNow();
    auto cooling = provider->coolingDown();
    REQUIRE(cooling.size() == 4);
    std::set<std::tuple<std::string, std::string, std::string>> choices;
    for (const auto& c : cooling) {
        choices.insert({c.instanceType, c.subnet, c.market});
        CHECK(c.until == refusedAt + 180s);
        CHECK(c.code == "InsufficientInstanceCapacity");
    }
    CHECK(choices == std::set<std::tuple<std::string, std::string, std::string>>{
                             {"t3.medium", "subnet-a", "spot"},
                             {"t3.medium", "subnet-b", "spot"},
                             {"t3a.medium", "subnet-a", "spot"},
                             {"t3a.medium", "subnet-b", "spot"}});

    // Capacity returns, but 3 minutes have not passed: no spot call, on-demand again.
    ec2.restoreCapacity();
    clock.advance(179s);
    ec2.clearCalls();
    auto fourth = provider->create({.serverName = "agent-4", .clientToken = "tok-agent-4"});
    REQUIRE(fourth);
    CHECK(fourth->market == "on-demand");
    CHECK(runs("spot") == 0);
    CHECK(runs("on-demand") == 1);
    CHECK(provider->coolingDown().size() == 4);

    // At 3 minutes spot is tried again and wins.
    clock.advance(1s);
    CHECK(provider->coolingDown().empty());
    ec2.clearCalls();
    auto fifth = provider->create({.serverName = "agent-5", .clientToken = "tok-agent-5"});
    REQUIRE(fifth);
    CHECK(fifth->market == "spot");
    REQUIRE(ec2.calls("RunInstances").size() == 1);
    CHECK(runs("spot", "t3.medium", "subnet-a") == 1);
    CHECK(ec2.instances().at(fifth->id).lifecycle == "spot");

    // The market is visible from DescribeInstances (instanceLifecycle).
    clock.advance(31s);
    const auto spot = provider->describe(fifth->id);
    REQUIRE(spot);
    CHECK(spot->market == "spot");
    const auto onDemand = provider->describe(created[0].id);
    REQUIRE(onDemand);
    CHECK(onDemand->market == "on-demand");
    const auto listed = provider->list();
    REQUIRE(listed);
    CHECK(std::count_if(listed->begin(), listed->end(),
                        [](const Instance& i) { return i.market == "spot"; }) == 1);
    CHECK(std::count_if(listed->begin(), listed->end(),
                        [](const Instance& i) { return i.market == "on-demand"; }) == 4);
}

TEST_CASE_FIXTURE(SpotFixture, "spot still refused after 3 minutes is tried once more, then "
                               "on-demand again") {
    ec2.refuseCapacity({.market = "spot", .code = "MaxSpotInstanceCountExceeded"});
    REQUIRE(provider->create({.serverName = "agent-1", .clientToken = "a"}));
    clock.advance(180s);
    REQUIRE(provider->create({.serverName = "agent-2", .clientToken = "b"}));
    for (const auto& choice : kWalk) { // Not a structured binding: clang 14, CAPTURE.
        CAPTURE(choice.first);
        CAPTURE(choice.second);
        CHECK(runs("spot", choice.first, choice.second) == 2);
    }
    CHECK(runs("on-demand") == 2);
    const auto cooling = provider->coolingDown();
    REQUIRE(cooling.size() == 4);
    CHECK(cooling[0].code == "MaxSpotInstanceCountExceeded");
    CHECK(cooling[0].until == clock.steadyNow() + 180s);
}

TEST_CASE_FIXTURE(SpotFixture, "every spot capacity code moves the walk on, never to an error") {
    for (const char* code :
         {"InsufficientInstanceCapacity", "SpotMaxPriceTooLow", "MaxSpotInstanceCountExceeded",
          "UnfulfillableCapacity", "InsufficientCapacity", "InsufficientHostCapacity",
          "InsufficientReservedInstanceCapacity", "Unsupported",
          "InsufficientFreeAddressesInSubnet", "VcpuLimitExceeded", "InsufficientCapacityOnHost",
          "ReservationCapacityExceeded"}) {
        CAPTURE(code);
        ec2.restoreCapacity();
        ec2.refuseCapacity({.market = "spot", .instanceType = "t3.medium", .code = code});
        clock.advance(181s); // Forget the previous round.
        ec2.clearCalls();
        const auto created =
                provider->create({.serverName = "agent", .clientToken = std::string("t-") + code});
        INFO((created ? std::string() : created.error().message));
        REQUIRE(created);
        CHECK(created->market == "spot");
        CHECK(created->instanceType == "t3a.medium");
        const auto calls = ec2.calls("RunInstances");
        REQUIRE(calls.size() == 3);
        CHECK(calls[0].errorCode == code);
        CHECK(calls[1].errorCode == code);
    }
}

TEST_CASE_FIXTURE(SpotFixture, "fallback off: no on-demand launch, Errc::Capacity says why") {
    auto options = spotOptions(ec2.endpoint());
    options.amazon.spotFallback = false;
    rebuild(options);
    ec2.refuseCapacity({.market = "spot"});
    const auto created = provider->create({.serverName = "agent-1", .clientToken = "tok"});
    REQUIRE_FALSE(created);
    CHECK(created.error().code == Errc::Capacity);
    CHECK_FALSE(created.error().retryable());
    const std::string& message = created.error().message;
    CHECK(message.find("spot t3.medium/subnet-a (InsufficientInstanceCapacity)") !=
          std::string::npos);
    CHECK(message.find("spot t3a.medium/subnet-b (InsufficientInstanceCapacity)") !=
          std::string::npos);
    CHECK(message.find("on-demand not tried: the spot fallback is off "
                       "(DRONE_AMAZON_SPOT_FALLBACK=false)") != std::string::npos);
    CHECK(runs("spot") == 4);
    CHECK(runs("on-demand") == 0);
    CHECK(ec2.instances().empty());

    // Within 3 minutes: no call at all, and the message names what is cooling down.
    clock.advance(60s);
    const auto again = provider->create({.serverName = "agent-2", .clientToken = "tok2"});
    REQUIRE_FALSE(again);
    CHECK(again.error().code == Errc::Capacity);
    CHECK(again.error().message.find("skipped") != std::string::npos);
    CHECK(again.error().message.find("spot t3.medium/subnet-b (InsufficientInstanceCapacity, "
                                     "120s left)") != std::string::npos);
    CHECK(again.error().message.find("DRONE_AMAZON_SPOT_FALLBACK=false") != std::string::npos);
    CHECK(ec2.calls("RunInstances").size() == 4);
}

TEST_CASE_FIXTURE(SpotFixture, "the on-demand cap reached: no on-demand launch, and it says so") {
    ec2.refuseCapacity({.market = "spot"});
    const auto created = provider->create(
            {.serverName = "agent-1", .clientToken = "tok", .onDemandAllowed = false});
    REQUIRE_FALSE(created);
    CHECK(created.error().code == Errc::Capacity);
    CHECK(created.error().message.find("the pool's on-demand cap (on_demand_max) is reached") !=
          std::string::npos);
    CHECK(runs("spot") == 4);
    CHECK(runs("on-demand") == 0);
    // With room again, the same walk falls back at once (spot is cooling down).
    const auto allowed = provider->create({.serverName = "agent-1", .clientToken = "tok"});
    REQUIRE(allowed);
    CHECK(allowed->market == "on-demand");
    CHECK(runs("spot") == 4);
    CHECK(runs("on-demand") == 1);
}

TEST_CASE_FIXTURE(Fixture, "an on-demand pool ignores onDemandAllowed and never asks for spot") {
    const auto created = provider->create(
            {.serverName = "agent-1", .clientToken = "tok", .onDemandAllowed = false});
    REQUIRE(created);
    CHECK(created->market == "on-demand");
    CHECK_FALSE(ec2.calls("RunInstances").at(0).has("InstanceMarketOptions.MarketType"));
}

TEST_CASE_FIXTURE(SpotFixture, "on-demand capacity errors cool down (type, subnet, on-demand) "
                               "too; all refused is Errc::Capacity naming every choice") {
    ec2.refuseCapacity({.market = "spot"});
    ec2.refuseCapacity({.market = "on-demand",
                        .instanceType = "t3.medium",
                        .subnet = "subnet-a",
                        .code = "VcpuLimitExceeded"});
    const auto first = provider->create({.serverName = "agent-1", .clientToken = "tok"});
    REQUIRE(first);
    CHECK(first->market == "on-demand");
    CHECK(ec2.instances().at(first->id).subnetId == "subnet-b");
    CHECK(runs("on-demand", "t3.medium", "subnet-a") == 1);
    auto cooling = provider->coolingDown();
    CHECK(cooling.size() == 5);
    CHECK(std::count_if(cooling.begin(), cooling.end(), [](const CoolingChoice& c) {
              return c.market == "on-demand" && c.instanceType == "t3.medium" &&
                     c.subnet == "subnet-a" && c.code == "VcpuLimitExceeded";
          }) == 1);
    // The next create goes straight to the on-demand choice that works.
    ec2.clearCalls();
    REQUIRE(provider->create({.serverName = "agent-2", .clientToken = "tok2"}));
    REQUIRE(ec2.calls("RunInstances").size() == 1);
    CHECK(runs("on-demand", "t3.medium", "subnet-b") == 1);

    // Nothing anywhere: every choice of both markets is named.
    ec2.refuseCapacity({.market = "on-demand"});
    clock.advance(180s);
    ec2.clearCalls();
    const auto none = provider->create({.serverName = "agent-3", .clientToken = "tok3"});
    REQUIRE_FALSE(none);
    CHECK(none.error().code == Errc::Capacity);
    CHECK(ec2.calls("RunInstances").size() == 8);
    for (const char* label : {"spot t3.medium/subnet-a", "spot t3a.medium/subnet-b",
                              "on-demand t3.medium/subnet-a (VcpuLimitExceeded)",
                              "on-demand t3a.medium/subnet-b (InsufficientInstanceCapacity)"}) {
        CAPTURE(label);
        CHECK(none.error().message.find(label) != std::string::npos);
    }
    CHECK(none.error().message.find("not tried") == std::string::npos);
    CHECK(provider->coolingDown().size() == 8);
}

TEST_CASE_FIXTURE(SpotFixture, "every choice of the walk has its own client token") {
    ec2.refuseCapacity({.market = "spot"});
    ec2.refuseCapacity({.market = "on-demand", .instanceType = "t3.medium"});
    REQUIRE(provider->create({.serverName = "agent-1", .clientToken = "tok"}));
    const auto calls = ec2.calls("RunInstances");
    REQUIRE(calls.size() == 7);
    std::vector<std::string> tokens;
    for (const auto& c : calls)
        tokens.push_back(c.param("ClientToken"));
    // Spot choices 1-4, then on-demand 5-8 (numbered over the whole walk).
    CHECK(tokens ==
          std::vector<std::string>{"tok", "tok-2", "tok-3", "tok-4", "tok-5", "tok-6", "tok-7"});
    CHECK(calls[6].market() == "on-demand");
    CHECK(calls[6].instanceType() == "t3a.medium");
    CHECK(calls[6].subnet() == "subnet-a");
    // No token was reused with other parameters.
    CHECK(std::none_of(calls.begin(), calls.end(), [](const test::FakeEc2Call& c) {
        return c.errorCode == "IdempotentParameterMismatch";
    }));
}

TEST_CASE_FIXTURE(SpotFixture, "a retried create returns the instance it launched, even when an "
                               "earlier choice has capacity again") {
    ec2.refuseCapacity({.market = "spot"});
    const auto first = provider->create({.serverName = "agent-1", .clientToken = "tok"});
    REQUIRE(first);
    CHECK(first->market == "on-demand");
    // Spot comes back and its memory expires; the caller retries the same request.
    ec2.restoreCapacity();
    clock.advance(181s);
    ec2.clearCalls();
    const auto retried = provider->create({.serverName = "agent-1", .clientToken = "tok"});
    REQUIRE(retried);
    CHECK(retried->id == first->id);
    CHECK(ec2.instances().size() == 1);
    const auto calls = ec2.calls("RunInstances");
    REQUIRE(calls.size() == 1);
    CHECK(calls[0].param("ClientToken") == "tok-5");
    CHECK(calls[0].market() == "on-demand");
}

TEST_CASE_FIXTURE(SpotFixture, "a launch whose answer was lost is asked again first on retry, "
                               "never launched twice") {
    ec2.refuseCapacity({.market = "spot"});
    ec2.faults([](test::FakeEc2Faults& f) { f.truncateNext = 1; }); // The launch's reply.
    const auto lost = provider->create({.serverName = "agent-1", .clientToken = "tok"});
    REQUIRE_FALSE(lost);
    CHECK(lost.error().code == Errc::Parse);
    REQUIRE(ec2.instances().size() == 1); // EC2 launched it; we never heard.
    const std::string launched = ec2.instances().begin()->first;
    ec2.restoreCapacity();
    clock.advance(181s);
    ec2.clearCalls();
    const auto retried = provider->create({.serverName = "agent-1", .clientToken = "tok"});
    REQUIRE(retried);
    CHECK(retried->id == launched);
    CHECK(ec2.instances().size() == 1);
    CHECK(runs("spot") == 0);
}

TEST_CASE_FIXTURE(SpotFixture, "without the spot service-linked role every spot choice cools "
                               "down and on-demand launches") {
    ec2.refuseCapacity({.market = "spot",
                        .instanceType = "t3.medium",
                        .subnet = "subnet-a",
                        .code = "AuthFailure.ServiceLinkedRoleCreationNotPermitted"});
    const auto created = provider->create({.serverName = "agent-1", .clientToken = "tok"});
    REQUIRE(created);
    CHECK(created->market == "on-demand");
    CHECK(runs("spot") == 1);
    CHECK(runs("on-demand") == 1);
    CHECK(provider->coolingDown().size() == 4);
    CHECK(log.text().find("iam:CreateServiceLinkedRole") != std::string::npos);
}

TEST_CASE_FIXTURE(Fixture, "a non-capacity error ends the walk as it is") {
    auto options = spotOptions(ec2.endpoint());
    rebuild(options);
    ec2.faults([](test::FakeEc2Faults& f) { f.scripted = {{400, "InvalidAMIID.NotFound"}}; });
    const auto created = provider->create({.serverName = "agent-1", .clientToken = "tok"});
    REQUIRE_FALSE(created);
    CHECK(created.error().code == Errc::NotFound);
    CHECK(ec2.calls("RunInstances").size() == 1);
    CHECK(provider->coolingDown().empty());
}

TEST_CASE_FIXTURE(Fixture, "the leadership epoch is tagged on instance and volume") {
    const auto created =
            provider->create({.serverName = "agent-1", .clientToken = "tok", .epoch = 42});
    REQUIRE(created);
    const auto fake = ec2.instances().at(created->id);
    CHECK(fake.tags.at("drone-autoscaler:epoch") == "42");
    CHECK(fake.volumeTags.at("drone-autoscaler:epoch") == "42");
    CHECK(created->tags.at("drone-autoscaler:epoch") == "42");
    const auto plain = provider->create({.serverName = "agent-2", .clientToken = "tok2"});
    REQUIRE(plain);
    CHECK(ec2.instances().at(plain->id).tags.count("drone-autoscaler:epoch") == 0);
}

TEST_CASE_FIXTURE(SpotFixture, "a spot reclaim shows as Server.SpotInstanceTermination") {
    const auto created = provider->create({.serverName = "agent-1", .clientToken = "tok"});
    REQUIRE(created);
    clock.advance(31s);
    auto seen = provider->describe(created->id);
    REQUIRE(seen);
    CHECK(seen->state == InstanceState::Running);
    CHECK(seen->stateReason.empty());
    REQUIRE(ec2.reclaimSpot(created->id));
    CHECK_FALSE(ec2.reclaimSpot(created->id)); // Already going.
    seen = provider->describe(created->id);
    REQUIRE(seen);
    CHECK(seen->state == InstanceState::ShuttingDown);
    CHECK(seen->market == "spot");
    CHECK(seen->stateReason == "Server.SpotInstanceTermination");
    CHECK(seen->stateReasonMessage == "Server.SpotInstanceTermination: Spot instance termination");
    auto listed = provider->list();
    REQUIRE(listed);
    REQUIRE(listed->size() == 1);
    CHECK(listed->front().stateReason == "Server.SpotInstanceTermination");
    clock.advance(20s);
    seen = provider->describe(created->id);
    REQUIRE(seen);
    CHECK(seen->state == InstanceState::Terminated);
    CHECK(seen->stateReason == "Server.SpotInstanceTermination");
    CHECK(provider->list()->empty());

    // Our own termination reads as the user's.
    const auto other = provider->create({.serverName = "agent-2", .clientToken = "tok2"});
    REQUIRE(other);
    REQUIRE(provider->destroy(std::vector<std::string>{other->id}));
    seen = provider->describe(other->id);
    REQUIRE(seen);
    CHECK(seen->stateReason == "Client.UserInitiatedShutdown");
    // An on-demand instance is not reclaimed as spot.
    ec2.restoreCapacity();
    CHECK_FALSE(ec2.reclaimSpot("i-0000000000000dead"));
}

TEST_CASE_FIXTURE(SpotFixture, "the daemon's counting decorator passes coolingDown() through") {
    ec2.refuseCapacity({.market = "spot", .instanceType = "t3a.medium"});
    CountingProvider counting(*provider);
    CHECK(counting.coolingDown().empty());
    ec2.refuseCapacity({.market = "spot", .instanceType = "t3.medium"});
    REQUIRE(counting.create({.serverName = "agent-1", .clientToken = "tok"}));
    CHECK(counting.coolingDown() == provider->coolingDown());
    CHECK(counting.coolingDown().size() == 4);
}

TEST_CASE_FIXTURE(SpotFixture, "coolingDown() answers while creates run on other threads") {
    ec2.refuseCapacity({.market = "spot"});
    std::atomic<bool> done{false};
    std::atomic<int> reads{0};
    std::jthread reader([&] {
        while (!done) {
            const auto cooling = provider->coolingDown();
            CHECK(cooling.size() <= 4);
            ++reads;
        }
    });
    std::vector<std::jthread> creators;
    std::atomic<int> ok{0};
    for (int t = 0; t < 3; ++t) {
        creators.emplace_back([&, t] {
            for (int n = 0; n < 3; ++n) {
                const std::string name = "agent-" + std::to_string(t) + "-" + std::to_string(n);
                if (provider->create({.serverName = name, .clientToken = name}))
                    ++ok;
            }
        });
    }
    creators.clear();
    done = true;
    reader.join();
    CHECK(ok == 9);
    CHECK(reads > 0);
    CHECK(runs("spot") == 4); // Each spot choice once, whichever thread came first.
    CHECK(runs("on-demand") == 9);
}

TEST_CASE("the fake EC2 refuses the market options EC2 refuses") {
    test::FakeClock clock{kT0};
    test::FakeEc2 ec2{clock};
    auto http = makeCurlHttpClient({.protocols = "http"});
    REQUIRE(http);
    auto creds = makeStaticCredentials(testCredentials());
    MemorySink sink;
    aws::Ec2Client client({.endpoint = ec2.endpoint(), .retry = {.maxAttempts = 1}}, **http, *creds,
                          clock, Logger(sink, clock, "ec2", LogLevel::Info));
    const aws::QueryParams base{{"ImageId", "ami-1"}, {"MinCount", "1"}, {"MaxCount", "1"}};
    auto run = [&](const aws::QueryParams& extra) {
        aws::QueryParams params = base;
        params.insert(params.end(), extra.begin(), extra.end());
        return client.call("RunInstances", params);
    };
    struct Case {
        aws::QueryParams params;
        std::string code;
    };
    const std::vector<Case> refused{
            {{{"InstanceMarketOptions.MarketType", "spotty"}}, "InvalidParameterValue"},
            {{{"InstanceMarketOptions.MarketType", "spot"},
              {"InstanceMarketOptions.SpotOptions.SpotInstanceType", "persistent"},
              {"InstanceMarketOptions.SpotOptions.InstanceInterruptionBehavior", "terminate"}},
             "InvalidParameterCombination"},
            {{{"InstanceMarketOptions.MarketType", "spot"},
              {"InstanceMarketOptions.SpotOptions.InstanceInterruptionBehavior", "explode"}},
             "InvalidParameterValue"},
            {{{"InstanceMarketOptions.MarketType", "spot"},
              {"InstanceMarketOptions.SpotOptions.MaxPrice", "0.0001"}},
             "InvalidParameterValue"},
            {{{"InstanceMarketOptions.MarketType", "spot"},
              {"InstanceMarketOptions.SpotOptions.Colour", "red"}},
             "UnknownParameter"},
    };
    for (const auto& c : refused) {
        CAPTURE(c.code);
        const auto reply = run(c.params);
        REQUIRE_FALSE(reply);
        CHECK(reply.error().serviceCode == c.code);
    }
    CHECK(ec2.instances().empty());
    REQUIRE(run({{"InstanceMarketOptions.MarketType", "spot"},
                 {"InstanceMarketOptions.SpotOptions.SpotInstanceType", "persistent"},
                 {"InstanceMarketOptions.SpotOptions.InstanceInterruptionBehavior", "stop"},
                 {"InstanceMarketOptions.SpotOptions.MaxPrice", "0.05"}}));
    const auto launched = ec2.instances();
    REQUIRE(launched.size() == 1);
    CHECK(launched.begin()->second.lifecycle == "spot");
    CHECK(launched.begin()->second.interruptionBehavior == "stop");
    CHECK(launched.begin()->second.spotRequestId.starts_with("sir-"));
    // Spot and on-demand are told apart by the instance-lifecycle filter.
    REQUIRE(run({}));
    const auto spotOnly = client.describeInstances(
            {.filters = {{.name = "instance-lifecycle", .values = {"spot"}}}});
    REQUIRE(spotOnly);
    REQUIRE(spotOnly->size() == 1);
    CHECK(spotOnly->front().lifecycle == "spot");
}

/// "http://127.0.0.1:PORT" from the fake's first line, once it is printed.
std::string listeningUrl(const test::BackgroundProcess& process) {
    const std::string out = process.output();
    const auto at = out.find("listening ");
    if (at == std::string::npos)
        return {};
    const auto end = out.find('\n', at);
    if (end == std::string::npos)
        return {};
    return out.substr(at + 10, end - at - 10);
}

TEST_CASE("fake_ec2 as a process: --no-capacity and the control endpoints") {
    const std::string bin = test::testEnv("AUTOSCALE_FAKE_EC2_BIN");
    REQUIRE_FALSE(bin.empty());
    test::TempDir dir;
    test::BackgroundProcess fake({bin, "--no-capacity", "spot:*:*:InsufficientInstanceCapacity"},
                                 {}, dir.file("fake_ec2.log"));
    REQUIRE(test::waitFor([&] { return !listeningUrl(fake).empty(); }, 10s));
    const std::string url = listeningUrl(fake);
    REQUIRE(url.starts_with("http://127.0.0.1:"));

    const auto clock = makeSystemClock(); // The process checks signatures against real time.
    auto http = makeCurlHttpClient({.protocols = "http"});
    REQUIRE(http);
    auto control = [&](const std::string& method, const std::string& path,
                       const std::string& body = {}) {
        auto reply =
                (*http)->send({.method = method,
                               .url = url + path,
                               .headers = {{"Content-Type", "application/x-www-form-urlencoded"}},
                               .body = body});
        REQUIRE(reply);
        return *reply;
    };
    auto spotProvider = [&] {
        auto made = makeEc2Provider(
                spotOptions(url),
                std::shared_ptr<CredentialsSource>(makeStaticCredentials(testCredentials())),
                *clock);
        REQUIRE(made);
        return std::move(*made);
    };

    // No spot anywhere from the start: the walk ends on-demand.
    auto first = spotProvider()->create({.serverName = "agent-1", .clientToken = "p1"});
    REQUIRE(first);
    CHECK(first->market == "on-demand");
    auto calls = control("GET", "/_fake/calls");
    CHECK(calls.status == 200);
    std::istringstream lines(calls.body);
    std::vector<std::string> runLines;
    for (std::string line; std::getline(lines, line);) {
        if (line.starts_with("RunInstances "))
            runLines.push_back(line);
    }
    CHECK(runLines ==
          std::vector<std::string>{
                  "RunInstances 500 InsufficientInstanceCapacity spot t3.medium subnet-a",
                  "RunInstances 500 InsufficientInstanceCapacity spot t3.medium subnet-b",
                  "RunInstances 500 InsufficientInstanceCapacity spot t3a.medium subnet-a",
                  "RunInstances 500 InsufficientInstanceCapacity spot t3a.medium subnet-b",
                  "RunInstances 200 - on-demand t3.medium subnet-a"});
    CHECK(control("POST", "/_fake/reclaim", "instance=" + first->id).status == 404);

    // Capacity back: a fresh provider (no memory) launches spot; reclaim it.
    CHECK(control("POST", "/_fake/capacity/restore").status == 200);
    auto provider = spotProvider();
    auto second = provider->create({.serverName = "agent-2", .clientToken = "p2"});
    REQUIRE(second);
    CHECK(second->market == "spot");
    CHECK(control("POST", "/_fake/reclaim", "instance=" + second->id).status == 200);
    const auto instances = control("GET", "/_fake/instances").body;
    CHECK(instances.find(second->id + " shutting-down spot t3.medium subnet-a "
                                      "Server.SpotInstanceTermination") != std::string::npos);
    const auto seen = provider->describe(second->id);
    REQUIRE(seen);
    CHECK(seen->stateReason == "Server.SpotInstanceTermination");

    // A rule added at run time: no on-demand t3.medium anywhere.
    CHECK(control("POST", "/_fake/capacity",
                  "market=on-demand&type=t3.medium&code=VcpuLimitExceeded")
                  .status == 200);
    CHECK(control("POST", "/_fake/capacity", "market=moon").status == 400);
    auto options = spotOptions(url);
    options.amazon.marketType.clear();
    auto made = makeEc2Provider(
            options, std::shared_ptr<CredentialsSource>(makeStaticCredentials(testCredentials())),
            *clock);
    REQUIRE(made);
    const auto third = (*made)->create({.serverName = "agent-3", .clientToken = "p3"});
    REQUIRE(third);
    CHECK(third->instanceType == "t3a.medium");

    fake.signal(SIGTERM);
    CHECK(fake.wait(10s) == 0);
    CHECK(fake.output().find("0 signature failures") != std::string::npos);
}

} // namespace
} // namespace autoscale
