// SPDX-License-Identifier: Apache-2.0
/// \file
/// The EC2 Query API calls the provider uses, as plain request/reply structs: request
/// structs serialize to form parameters ("ec2" protocol: Name.N lists, nested dots,
/// 1-based), replies parse from XML with pugixml (namespace ignored). Pure functions, no
/// I/O; errors are values.

#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <autoscale/clock.h>
#include <autoscale/result.h>

#include "core/text.h"

namespace autoscale::aws {

inline constexpr std::string_view kEc2ApiVersion = "2016-11-15";

/// Wire parameters in the order they are sent.
using QueryParams = std::vector<std::pair<std::string, std::string>>;

/// Appends `text` percent-encoded as SigV4 and form bodies need (RFC 3986 unreserved
/// characters kept, everything else %XX with upper-case hex, '/' encoded).
void appendUriEncoded(std::string& out, std::string_view text);

/// "Action=<action>&Version=<version>&k=v..." with names and values percent-encoded
/// (RFC 3986 unreserved kept, space as %20).
std::string formBody(std::string_view action, std::string_view version, const QueryParams& params);

struct Tag {
    std::string key{};
    std::string value{};

    friend bool operator==(const Tag&, const Tag&) = default;
};

struct Filter {
    std::string name{};
    std::vector<std::string> values{};
};

/// One RunInstances call: everything a DRONE_AMAZON_* setting can ask for.
struct RunInstancesRequest {
    std::string imageId{};
    std::string instanceType{};
    int count = 1;
    std::string keyName{};
    std::string subnetId{};
    bool associatePublicIp = true;
    std::vector<std::string> securityGroupIds{};
    std::string userData{}; ///< Raw; base64-encoded here.
    std::string iamProfileArn{};
    std::string iamProfileName{};
    std::string deviceName{};
    int volumeSize = 0; ///< GiB; 0 leaves the AMI's size.
    std::string volumeType{};
    std::optional<int> volumeIops{};
    std::optional<int> volumeThroughput{};
    std::string httpTokens = "required";
    int hopLimit = 1;
    /// InstanceMarketOptions MarketType=spot, one-time, terminate on interruption
    /// (no MaxPrice: capped at the on-demand price, as AWS recommends).
    bool spot = false;
    std::vector<Tag> tags{}; ///< Applied to the instance and its volumes at launch.
    std::string clientToken{};
};

QueryParams toParams(const RunInstancesRequest& request);

struct DescribeInstancesRequest {
    std::vector<std::string> instanceIds{};
    std::vector<Filter> filters{};
    std::optional<int> maxResults{}; ///< Not allowed together with instanceIds.
    std::string nextToken{};
};

QueryParams toParams(const DescribeInstancesRequest& request);
QueryParams terminateParams(std::span<const std::string> ids);
QueryParams createTagsParams(std::span<const std::string> ids, std::span<const Tag> tags);

/// An instance as EC2 reports it (the fields we read).
struct Ec2Instance {
    std::string id{};
    std::string imageId{};
    std::string instanceType{};
    std::string stateName{};
    int stateCode = 0; ///< Low byte only.
    std::string privateIp{};
    std::string publicIp{};
    std::string zone{};
    std::string subnetId{};
    std::string clientToken{};
    std::string lifecycle{};          ///< "spot", or empty for on-demand.
    std::string stateReasonCode{};    ///< e.g. "Server.SpotInstanceTermination".
    std::string stateReasonMessage{}; ///< StateReason message.
    WallTime launchTime{};
    std::vector<Tag> tags{};
};

struct DescribeInstancesPage {
    std::vector<Ec2Instance> instances{};
    std::string nextToken{}; ///< Empty on the last page (absent or empty element).
    std::string requestId{};
};

struct StateChange {
    std::string id{};
    std::string current{};
    std::string previous{};
};

Result<DescribeInstancesPage> parseDescribeInstances(std::string_view xml);
Result<std::vector<Ec2Instance>> parseRunInstances(std::string_view xml);
Result<std::vector<StateChange>> parseTerminateInstances(std::string_view xml);

/// The service's own error: EC2's <Response><Errors><Error> or STS's <ErrorResponse>.
struct ServiceError {
    std::string code{};
    std::string message{};
    std::string requestId{};
};

/// nullopt when `xml` is not an error envelope (or not XML at all).
std::optional<ServiceError> parseServiceError(std::string_view xml);

bool isThrottlingCode(std::string_view code);
/// Capacity, quota and placement codes: the provider moves to another type, subnet or
/// market.
bool isCapacityCode(std::string_view code);
bool isAuthCode(std::string_view code);

/// Classifies a non-2xx reply of `action` once, at the boundary: Errc from the code (or
/// the status when the body is not an error envelope), the service's message, request id,
/// status and code. Auth errors get a hint that says what the operator should check.
Error classifyReply(std::string_view action, int httpStatus, std::string_view body);

/// Base64 (standard alphabet, padded): the one in core/text.h.
using detail::base64Encode;

} // namespace autoscale::aws
