// SPDX-License-Identifier: Apache-2.0
/// \file
/// verifySigV4.

#include "sigv4_check.h"

#include <sstream>
#include <vector>

#include "aws/sigv4.h"
#include "core/time_format.h"

namespace autoscale::test {

SigV4Failure verifySigV4(const RecordedRequest& request, const SigV4Expectation& expected,
                         const Clock& clock) {
    const auto authIt = request.headers.find("authorization");
    if (authIt == request.headers.end())
        return SigV4Failure::Missing;
    const std::string& auth = authIt->second;
    const std::string prefix = "AWS4-HMAC-SHA256 Credential=";
    if (!auth.starts_with(prefix))
        return SigV4Failure::Incomplete;
    const auto credEnd = auth.find(", SignedHeaders=");
    const auto headersEnd = auth.find(", Signature=");
    if (credEnd == std::string::npos || headersEnd == std::string::npos || headersEnd < credEnd)
        return SigV4Failure::Incomplete;
    const std::string credential = auth.substr(prefix.size(), credEnd - prefix.size());
    const std::string signedHeaders = auth.substr(credEnd + 16, headersEnd - credEnd - 16);
    const std::string given = auth.substr(headersEnd + 12);
    std::vector<std::string> parts;
    std::stringstream credStream(credential);
    for (std::string part; std::getline(credStream, part, '/');)
        parts.push_back(part);
    if (parts.size() != 5 || parts[4] != "aws4_request")
        return SigV4Failure::Incomplete;
    if (parts[0] != expected.accessKeyId)
        return SigV4Failure::UnknownKey;
    if (parts[2] != expected.region || parts[3] != expected.service)
        return SigV4Failure::WrongScope;
    const auto dateIt = request.headers.find("x-amz-date");
    if (dateIt == request.headers.end() || dateIt->second.size() != 16 ||
        !dateIt->second.starts_with(parts[1]))
        return SigV4Failure::Expired;
    const std::string& amzDate = dateIt->second;
    const std::string iso = amzDate.substr(0, 4) + "-" + amzDate.substr(4, 2) + "-" +
                            amzDate.substr(6, 2) + "T" + amzDate.substr(9, 2) + ":" +
                            amzDate.substr(11, 2) + ":" + amzDate.substr(13, 2) + "Z";
    const auto signedAt = detail::parseIso8601(iso);
    if (!signedAt)
        return SigV4Failure::Expired;
    const auto skew = clock.now() - *signedAt;
    if (skew > expected.maxSkew || skew < -expected.maxSkew)
        return SigV4Failure::Expired;
    aws::CanonicalInput input;
    input.method = request.method;
    input.path = request.path;
    input.query = aws::splitPathAndQuery("/?" + request.query).second;
    input.body = request.body;
    bool tokenSigned = false;
    std::stringstream headerStream(signedHeaders);
    for (std::string name; std::getline(headerStream, name, ';');) {
        const auto it = request.headers.find(name);
        if (it == request.headers.end())
            return SigV4Failure::Mismatch;
        input.headers.emplace_back(name, it->second);
        tokenSigned = tokenSigned || name == "x-amz-security-token";
    }
    if (signedHeaders.find("host") == std::string::npos)
        return SigV4Failure::Mismatch;
    const auto tokenIt = request.headers.find("x-amz-security-token");
    if (!expected.sessionToken.empty() &&
        (tokenIt == request.headers.end() || tokenIt->second != expected.sessionToken ||
         !tokenSigned))
        return SigV4Failure::BadToken;
    const aws::CanonicalRequest canonical = aws::canonicalRequest(input);
    const std::string scope = aws::credentialScope(parts[1], parts[2], parts[3]);
    const std::string want =
            aws::signature(aws::signingKey(expected.secretAccessKey, parts[1], parts[2], parts[3]),
                           aws::stringToSign(canonical.text, amzDate, scope));
    if (want != given || canonical.signedHeaders != signedHeaders)
        return SigV4Failure::Mismatch;
    return SigV4Failure::None;
}

} // namespace autoscale::test
