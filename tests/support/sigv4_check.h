// SPDX-License-Identifier: Apache-2.0
/// \file
/// Server-side SigV4 verification for the loopback fakes (SQS; the same checks FakeEc2
/// makes): the signature is recomputed from the received bytes with the staged SigV4
/// functions and the test secret, and a failure says which check failed, for each fake
/// to answer with its own service's error code.

#pragma once

#include <chrono>
#include <string>

#include <autoscale/clock.h>

#include "fake_http_server.h"

namespace autoscale::test {

/// What a request must be signed with.
struct SigV4Expectation {
    std::string accessKeyId{};
    std::string secretAccessKey{};
    std::string region = "us-east-1";
    std::string service{};
    std::string sessionToken{}; ///< When set, required (and signed).
    std::chrono::minutes maxSkew{15};
};

/// Why a signature was refused.
enum class SigV4Failure {
    None,
    Missing,    ///< No Authorization header.
    Incomplete, ///< Not a well-formed "AWS4-HMAC-SHA256 Credential=..., ..." header.
    UnknownKey, ///< Another access key id.
    WrongScope, ///< Another region or service in the credential scope.
    Expired,    ///< X-Amz-Date further than maxSkew from the clock, or unreadable.
    BadToken,   ///< The session token is missing, wrong or unsigned.
    Mismatch,   ///< The signature (or the signed-headers list) differs.
};

/// Verifies `request` against `expected` at `clock`'s time.
SigV4Failure verifySigV4(const RecordedRequest& request, const SigV4Expectation& expected,
                         const Clock& clock);

} // namespace autoscale::test
