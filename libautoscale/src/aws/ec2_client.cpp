// SPDX-License-Identifier: Apache-2.0
/// \file
/// Ec2Client: sign, send, classify, retry.

#include "ec2_client.h"

#include <algorithm>
#include <stop_token>

#include "sigv4.h"

namespace autoscale::aws {

Ec2Client::Ec2Client(Ec2ClientOptions options, HttpClient& http, CredentialsSource& credentials,
                     const Clock& clock, Logger logger)
    : caller_(std::move(options.endpoint), std::move(options.region), std::move(options.userAgent),
              options.retry, options.seed, http, credentials, clock, std::move(logger)) {
}

Result<std::string> Ec2Client::call(std::string_view action, const QueryParams& params) {
    return caller_.call(
            SignedCall{.service = "ec2",
                       .name = action,
                       .logKey = "action",
                       .headers = {{"Content-Type",
                                    "application/x-www-form-urlencoded; charset=utf-8"}},
                       .body = formBody(action, kEc2ApiVersion, params),
                       .classify =
                               [action](const HttpResponse& reply) {
                                   return classifyReply(action, reply.status, reply.body);
                               },
                       .authFailure =
                               [](const Error& error) {
                                   if (error.serviceCode == "RequestExpired")
                                       return AuthFailure::Expired;
                                   if (error.serviceCode == "AuthFailure" ||
                                       error.serviceCode == "ExpiredToken")
                                       return AuthFailure::StaleToken;
                                   return AuthFailure::None;
                               }},
            std::stop_token{});
}

Result<std::vector<Ec2Instance>> Ec2Client::runInstances(const RunInstancesRequest& request) {
    auto body = call("RunInstances", toParams(request));
    if (!body)
        return body.error();
    return parseRunInstances(*body);
}

Result<std::vector<Ec2Instance>> Ec2Client::describeInstances(DescribeInstancesRequest request) {
    std::vector<Ec2Instance> out;
    for (int page = 0;; ++page) {
        if (page >= 100000)
            return makeError(Errc::Internal, "ec2 DescribeInstances: more than 100000 pages");
        auto body = call("DescribeInstances", toParams(request));
        if (!body)
            return body.error();
        auto parsed = parseDescribeInstances(*body);
        if (!parsed)
            return parsed.error();
        std::move(parsed->instances.begin(), parsed->instances.end(), std::back_inserter(out));
        if (parsed->nextToken.empty())
            return out;
        if (parsed->nextToken == request.nextToken) {
            return makeError(Errc::Parse,
                             "ec2 DescribeInstances returned the same NextToken twice");
        }
        request.nextToken = std::move(parsed->nextToken);
    }
}

Result<std::vector<StateChange>> Ec2Client::terminateInstances(std::span<const std::string> ids) {
    std::vector<StateChange> out;
    for (std::size_t start = 0; start < ids.size(); start += kMaxIdsPerCall) {
        const auto batch = ids.subspan(start, std::min(kMaxIdsPerCall, ids.size() - start));
        auto body = call("TerminateInstances", terminateParams(batch));
        if (!body)
            return body.error();
        auto parsed = parseTerminateInstances(*body);
        if (!parsed)
            return parsed.error();
        std::move(parsed->begin(), parsed->end(), std::back_inserter(out));
    }
    return out;
}

Result<void> Ec2Client::createTags(std::span<const std::string> ids, std::span<const Tag> tags) {
    for (std::size_t start = 0; start < ids.size(); start += kMaxIdsPerCall) {
        const auto batch = ids.subspan(start, std::min(kMaxIdsPerCall, ids.size() - start));
        auto body = call("CreateTags", createTagsParams(batch, tags));
        if (!body)
            return body.error();
    }
    return {};
}

} // namespace autoscale::aws
