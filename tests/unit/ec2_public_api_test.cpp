// SPDX-License-Identifier: Apache-2.0
/// \file
/// The EC2 public headers compile alone, with only include/ on the path (no src/, no C
/// library headers), and are usable as documented.

#include <doctest/doctest.h>

#include <autoscale/aws_credentials.h>
#include <autoscale/ec2_provider.h>

namespace autoscale {
namespace {

TEST_CASE("the EC2 public API is usable from include/ alone") {
    Ec2Options options{.poolName = "pool", .owner = "drone.example.com"};
    options.amazon.region = "eu-central-1";
    CHECK(options.retry.maxAttempts == 0); // 0: DRONE_AMAZON_RETRIES decides.
    CHECK(RetrySettings{}.maxAttempts == 3);
    CHECK(resolveEc2Endpoint(options, AwsEnvironment{}) ==
          "https://ec2.eu-central-1.amazonaws.com");
    auto source = makeStaticCredentials({.accessKeyId = "AKID", .secretAccessKey = "s"});
    const auto creds = source->credentials();
    REQUIRE(creds);
    CHECK(creds->accessKeyId == "AKID");
    CHECK(std::string(kPoolTag) == "drone-autoscaler:pool");
    CHECK(std::string(kServerTag) == "drone-autoscaler:server");
    CHECK(std::string(kOwnerTag) == "drone-autoscaler:owner");
}

} // namespace
} // namespace autoscale
