// SPDX-License-Identifier: Apache-2.0
/// \file
/// A small EC2 Query API client: signs each attempt with SigV4, POSTs form bodies,
/// classifies failures once, retries in standard mode (sleeping through Clock), pages
/// DescribeInstances and batches TerminateInstances. Private to libautoscale.

#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <autoscale/aws_credentials.h>
#include <autoscale/clock.h>
#include <autoscale/ec2_provider.h>
#include <autoscale/http.h>
#include <autoscale/log.h>

#include "ec2_api.h"
#include "retry.h"
#include "signed_call.h"
#include "sigv4.h"

namespace autoscale::aws {

struct Ec2ClientOptions {
    std::string endpoint{}; ///< "https://ec2.us-east-1.amazonaws.com" or a loopback fake.
    std::string region = "us-east-1";
    RetrySettings retry{};
    std::uint64_t seed = 1;
    std::string userAgent = "autoscale/0.1";
};

/// Most instance ids TerminateInstances and CreateTags take per call.
inline constexpr std::size_t kMaxIdsPerCall = 1000;

/// Thread-compatible: one caller at a time (it uses one HttpClient). Borrows `http`,
/// `credentials`, `clock` and `logger`'s sink, which must outlive it.
class Ec2Client {
public:
    Ec2Client(Ec2ClientOptions options, HttpClient& http, CredentialsSource& credentials,
              const Clock& clock, Logger logger);

    /// One action with retries; the body of the 2xx reply.
    [[nodiscard]] Result<std::string> call(std::string_view action, const QueryParams& params);

    [[nodiscard]] Result<std::vector<Ec2Instance>> runInstances(const RunInstancesRequest& request);
    /// Every page, following NextToken until it is absent or empty.
    [[nodiscard]] Result<std::vector<Ec2Instance>>
    describeInstances(DescribeInstancesRequest request);
    /// In batches of at most kMaxIdsPerCall ids.
    [[nodiscard]] Result<std::vector<StateChange>>
    terminateInstances(std::span<const std::string> ids);
    [[nodiscard]] Result<void> createTags(std::span<const std::string> ids,
                                          std::span<const Tag> tags);

    [[nodiscard]] const RetryPolicy& retryPolicy() const { return caller_.retryPolicy(); }

private:
    SignedCaller caller_;
};

} // namespace autoscale::aws
