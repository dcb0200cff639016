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
    : options_(std::move(options))
    , http_(http)
    , credentials_(credentials)
    , clock_(clock)
    , logger_(std::move(logger))
    , retry_(options_.retry, options_.seed) {
    url_ = options_.endpoint;
    while (!url_.empty() && url_.back() == '/')
        url_.pop_back();
    url_ += '/';
}

Result<std::string> Ec2Client::call(std::string_view action, const QueryParams& params) {
    const std::string body = formBody(action, kEc2ApiVersion, params);
    bool resignedOnce = false;
    for (int attempt = 1;; ++attempt) {
        auto credentials = credentials_.credentials();
        if (!credentials)
            return credentials.error();
        HttpRequest request{
                .method = "POST",
                .url = url_,
                .headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
                            {"User-Agent", options_.userAgent}},
                .body = body};
        signRequest(request,
                    SigningParams{.accessKeyId = credentials->accessKeyId,
                                  .secretAccessKey = credentials->secretAccessKey,
                                  .sessionToken = credentials->sessionToken,
                                  .region = options_.region,
                                  .service = "ec2",
                                  .time = clock_.now()},
                    &keys_);
        auto response = http_.send(request);
        if (response && response->status >= 200 && response->status < 300) {
            retry_.onSuccess(attempt > 1);
            return std::move(response->body);
        }
        Error error = response ? classifyReply(action, response->status, response->body)
                               : response.error();

        // A stale signature or rotated temporary credentials: re-sign once with a fresh
        // time (and fresh credentials), never more.
        const bool expired = error.serviceCode == "RequestExpired";
        const bool staleToken =
                (error.serviceCode == "AuthFailure" || error.serviceCode == "ExpiredToken") &&
                !credentials->sessionToken.empty();
        if ((expired || staleToken) && !resignedOnce) {
            resignedOnce = true;
            if (staleToken)
                credentials_.invalidate();
            logger_.warn("re-signing after auth error", {{"action", std::string(action)},
                                                         {"code", error.serviceCode},
                                                         {"request_id", error.requestId}});
            continue;
        }
        const auto delay = retry_.delayFor(error, attempt);
        if (!delay) {
            if (attempt > 1)
                error.message += " (after " + std::to_string(attempt) + " attempts)";
            return error;
        }
        logger_.warn("retrying",
                     {{"action", std::string(action)},
                      {"code", error.serviceCode.empty() ? std::string(nameOf(error.code))
                                                         : error.serviceCode},
                      {"status", std::to_string(error.httpStatus)},
                      {"request_id", error.requestId},
                      {"attempt", std::to_string(attempt)},
                      {"delay_ms", std::to_string(delay->count())}});
        clock_.sleepFor(*delay, std::stop_token{});
    }
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
