// SPDX-License-Identifier: Apache-2.0
/// \file
/// The EC2 provider: creates, lists, inspects and destroys the instances of one pool
/// through the EC2 Query API (SigV4, standard retry mode, capacity fallback).

#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <autoscale/aws_credentials.h>
#include <autoscale/clock.h>
#include <autoscale/log.h>
#include <autoscale/provider.h>
#include <autoscale/result.h>

namespace autoscale {

/// The AWS SDKs' "standard" retry mode. Defaults are the SDKs'.
struct RetrySettings {
    int maxAttempts = 3;                         ///< First try included.
    std::chrono::milliseconds base{1000};        ///< Backoff of the first retry (before jitter).
    std::chrono::milliseconds maxBackoff{20000}; ///< Cap of a single delay.
    int quota = 500;                             ///< Retry token bucket, initial and max.
    int retryCost = 5;                           ///< Taken per retry.
    int timeoutCost = 10; ///< Taken per retry after a timeout/transport error.

    friend bool operator==(const RetrySettings&, const RetrySettings&) = default;
};

/// What DRONE_AMAZON_* configure: where and how the pool's instances are launched.
struct AmazonSettings {
    std::string region = "us-east-1";
    std::string image{};
    std::string instanceType = "t3.medium";
    std::vector<std::string> instanceTypesAlt{};
    std::string subnetId{};
    std::vector<std::string> subnetIdsAlt{};
    std::vector<std::string> securityGroups{};
    std::string sshKey{};
    bool privateIp = false;
    std::map<std::string, std::string> tags{};
    int volumeSize = 32;
    std::string volumeType = "gp3";
    std::optional<int> volumeIops{};
    std::optional<int> volumeThroughput{};
    std::string deviceName = "/dev/sda1";
    std::string iamProfileArn{};
    std::string iamProfileName{};
    std::string marketType{}; ///< "spot" for spot; "" for on-demand.
    /// With spot: launch on-demand when no spot (type, subnet) has capacity.
    bool spotFallback = true;
    /// With spot and its fallback: at most this many live on-demand servers in
    /// the pool (the pool file's on_demand_max); unset: no cap.
    std::optional<int> onDemandMax{};
    std::string imdsTokens = "required";
    std::string userData{};     ///< Template text from DRONE_AMAZON_USERDATA. Secret.
    std::string userDataFile{}; ///< DRONE_AMAZON_USERDATA_FILE's path; read by the caller.
    int retries = 3;

    friend bool operator==(const AmazonSettings&, const AmazonSettings&) = default;
};

/// Tag keys the provider writes on every instance and volume (SPEC §4).
inline constexpr const char* kPoolTag = "drone-autoscaler:pool";
inline constexpr const char* kServerTag = "drone-autoscaler:server";
inline constexpr const char* kOwnerTag = "drone-autoscaler:owner";

/// Everything the EC2 provider needs besides credentials and a clock. A plain value.
struct Ec2Options {
    AmazonSettings amazon{}; ///< Region, image, types, subnets, volume, tags, ...
    /// Empty: the AwsEnvironment overload of makeEc2Provider takes AWS_ENDPOINT_URL_EC2,
    /// then AWS_ENDPOINT_URL; otherwise https://ec2.<region>.amazonaws.com.
    std::string endpoint{};
    std::string poolName{}; ///< Value of the drone-autoscaler:pool tag.
    std::string owner{};    ///< Value of the drone-autoscaler:owner tag (the Drone host).
    /// Standard-mode retries; maxAttempts 0 (the default here) takes DRONE_AMAZON_RETRIES
    /// (amazon.retries).
    RetrySettings retry{.maxAttempts = 0};
    /// A (type, subnet) that failed for capacity is skipped for this long.
    std::chrono::seconds capacityCooldown{180};
    /// NotFound for an instance we launched less than this ago means "not visible yet".
    std::chrono::seconds visibilityGrace{300};
    std::chrono::milliseconds connectTimeout{5000};
    std::chrono::milliseconds requestTimeout{30000};
    std::uint64_t seed = 0;      ///< Jitter seed; 0 draws one from std::random_device.
    int describePageSize = 1000; ///< MaxResults of list() pages.
};

/// Where the EC2 calls go: `options.endpoint`, else AWS_ENDPOINT_URL_EC2, else
/// AWS_ENDPOINT_URL, else https://ec2.<region>.amazonaws.com.
std::string resolveEc2Endpoint(const Ec2Options& options, const AwsEnvironment& env);

/// The address to connect to: the private IP with DRONE_AMAZON_PRIVATE_IP, else the
/// public one (empty until EC2 assigns it).
std::string addressOf(const Instance& instance, const AmazonSettings& amazon);

/// Builds the provider.
///
/// - create(): RunInstances with every DRONE_AMAZON_* setting, tagged at launch. On a
///   capacity error it walks DRONE_AMAZON_INSTANCE then _INSTANCE_ALT types, each with
///   DRONE_AMAZON_SUBNET_ID then _SUBNET_IDS_ALT, with a fresh client token per
///   combination derived from the request's, and skips combinations that failed for
///   capacity within `capacityCooldown`. Errc::Capacity when all are exhausted.
///   The n-th combination (1-based) uses the request's token for n = 1 and
///   "<token>-<n>" after it (cut to EC2's 64 characters), so the same request retried
///   after a crash maps to the same tokens; an instance launched under any of them also
///   carries the drone-autoscaler:server tag. An empty token gets a random one.
///   User data over 16 KiB (raw) is Errc::InvalidArgument without a call.
/// - list(): every non-terminated instance tagged with this pool and owner (all pages).
/// - describe(): Errc::Unavailable (retryable) when EC2 does not know an id this provider
///   launched less than `visibilityGrace` ago; Errc::NotFound otherwise.
/// - destroy(): TerminateInstances in batches of at most 1000; ids EC2 reports as not
///   found count as gone.
/// Throttling and 5xx are retried in standard mode with sleeps through `clock`.
///
/// Thread-safety: internally synchronized. Calls from several threads are serialized by
/// a mutex around the provider's one HttpClient, so a slow call delays the others.
/// `clock` and `credentials` (when borrowed) must outlive the provider.
Result<std::unique_ptr<Provider>> makeEc2Provider(Ec2Options options,
                                                  std::shared_ptr<CredentialsSource> credentials,
                                                  const Clock& clock,
                                                  const HttpClientFactory& httpFactory = {},
                                                  LogSink* logSink = nullptr);

/// As above, with the default credential chain built from `env`.
Result<std::unique_ptr<Provider>> makeEc2Provider(Ec2Options options, const AwsEnvironment& env,
                                                  const Clock& clock,
                                                  const HttpClientFactory& httpFactory = {},
                                                  LogSink* logSink = nullptr);

} // namespace autoscale
