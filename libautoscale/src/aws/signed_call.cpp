// SPDX-License-Identifier: Apache-2.0
/// \file
/// SignedCaller: sign, send, classify, re-sign once, retry.

#include "signed_call.h"

#include <utility>

namespace autoscale::aws {

SignedCaller::SignedCaller(std::string endpoint, std::string region, std::string userAgent,
                           const RetrySettings& retry, std::uint64_t seed, HttpClient& http,
                           CredentialsSource& credentials, const Clock& clock, Logger logger)
    : url_(std::move(endpoint))
    , region_(std::move(region))
    , userAgent_(std::move(userAgent))
    , http_(http)
    , credentials_(credentials)
    , clock_(clock)
    , logger_(std::move(logger))
    , retry_(retry, seed) {
    while (!url_.empty() && url_.back() == '/')
        url_.pop_back();
    url_ += '/';
}

Result<std::string> SignedCaller::call(const SignedCall& call, const std::stop_token& stop) {
    const std::string name(call.name);
    const std::string logKey(call.logKey);
    bool resignedOnce = false;
    for (int attempt = 1;; ++attempt) {
        auto credentials = credentials_.credentials();
        if (!credentials)
            return credentials.error();
        HttpRequest request{
                .method = "POST", .url = url_, .headers = call.headers, .body = call.body};
        request.headers.emplace_back("User-Agent", userAgent_);
        signRequest(request,
                    SigningParams{.accessKeyId = credentials->accessKeyId,
                                  .secretAccessKey = credentials->secretAccessKey,
                                  .sessionToken = credentials->sessionToken,
                                  .region = region_,
                                  .service = std::string(call.service),
                                  .time = clock_.now()},
                    &keys_);
        auto response = http_.send(request);
        if (response && response->status >= 200 && response->status < 300) {
            retry_.onSuccess(attempt > 1);
            return std::move(response->body);
        }
        Error error = response ? call.classify(*response) : response.error();

        // A stale signature or rotated temporary credentials: re-sign once
        // with a fresh time (and fresh credentials), never more.
        const AuthFailure auth = call.authFailure(error);
        const bool staleToken =
                auth == AuthFailure::StaleToken && !credentials->sessionToken.empty();
        if ((auth == AuthFailure::Expired || staleToken) && !resignedOnce &&
            !stop.stop_requested()) {
            resignedOnce = true;
            if (staleToken)
                credentials_.invalidate();
            logger_.warn(
                    "re-signing after auth error",
                    {{logKey, name}, {"code", error.serviceCode}, {"request_id", error.requestId}});
            continue;
        }
        const auto delay = retry_.delayFor(error, attempt);
        if (!delay || stop.stop_requested()) {
            if (attempt > 1)
                error.message += " (after " + std::to_string(attempt) + " attempts)";
            return error;
        }
        logger_.warn("retrying",
                     {{logKey, name},
                      {"code", error.serviceCode.empty() ? std::string(nameOf(error.code))
                                                         : error.serviceCode},
                      {"status", std::to_string(error.httpStatus)},
                      {"request_id", error.requestId},
                      {"attempt", std::to_string(attempt)},
                      {"delay_ms", std::to_string(delay->count())}});
        if (!clock_.sleepFor(*delay, stop))
            return error;
    }
}

} // namespace autoscale::aws
