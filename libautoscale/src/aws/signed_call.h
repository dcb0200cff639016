// SPDX-License-Identifier: Apache-2.0
/// \file
/// One signed AWS call with retries, whatever the protocol: each attempt takes
/// the current credentials, is signed with SigV4 and POSTed; a failure is
/// classified by the protocol's own reader; a stale signature or rotated
/// temporary credentials are re-signed once; the rest follows the standard
/// retry mode, sleeping through the Clock. Ec2Client (Query protocol) and
/// SqsClient (JSON protocol) both call through it. Private to libautoscale.

#pragma once

#include <cstdint>
#include <functional>
#include <stop_token>
#include <string>
#include <string_view>

#include <autoscale/aws_credentials.h>
#include <autoscale/clock.h>
#include <autoscale/http.h>
#include <autoscale/log.h>
#include <autoscale/result.h>

#include "retry.h"
#include "sigv4.h"

namespace autoscale::aws {

/// Why an error is worth one re-signed attempt.
enum class AuthFailure {
    None,       ///< Not an authentication problem.
    Expired,    ///< The signature's time is too old: sign again with a fresh time.
    StaleToken, ///< Temporary credentials rotated: fetch fresh ones and sign again.
};

/// What one protocol says about a call.
struct SignedCall {
    std::string_view service{}; ///< The SigV4 scope: "ec2", "sqs".
    std::string_view name{};    ///< The action or operation, for logs.
    std::string_view logKey{};  ///< The log field naming it: "action", "operation".
    HttpHeaders headers{};      ///< Content-Type and the protocol's own; User-Agent is added.
    std::string body{};
    /// The Error for a reply that is not 2xx.
    std::function<Error(const HttpResponse&)> classify{};
    /// Whether an error is an authentication problem a re-signed attempt cures.
    std::function<AuthFailure(const Error&)> authFailure{};
};

/// Thread-compatible: one caller at a time. Borrows `http`, `credentials`,
/// `clock` and `logger`'s sink, which must outlive it.
class SignedCaller {
public:
    SignedCaller(std::string endpoint, std::string region, std::string userAgent,
                 const RetrySettings& retry, std::uint64_t seed, HttpClient& http,
                 CredentialsSource& credentials, const Clock& clock, Logger logger);

    /// The body of the 2xx reply, or the last attempt's error (with the number
    /// of attempts when there were several). A stop ends the retries.
    [[nodiscard]] Result<std::string> call(const SignedCall& call, const std::stop_token& stop);

    [[nodiscard]] const RetryPolicy& retryPolicy() const { return retry_; }

private:
    std::string url_;
    std::string region_;
    std::string userAgent_;
    HttpClient& http_;
    CredentialsSource& credentials_;
    const Clock& clock_;
    Logger logger_;
    RetryPolicy retry_;
    SigningKeyCache keys_;
};

} // namespace autoscale::aws
