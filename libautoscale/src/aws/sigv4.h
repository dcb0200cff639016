// SPDX-License-Identifier: Apache-2.0
/// \file
/// AWS Signature Version 4 as staged pure functions (private header, public to tests):
/// canonical request, string to sign, signing key, signature, and a helper that signs an
/// HttpRequest in place. The time is always a parameter; nothing here reads a clock.

#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <autoscale/clock.h>
#include <autoscale/http.h>

namespace autoscale::aws {

/// 32 raw bytes of an HMAC-SHA256 or SHA-256.
using Digest = std::array<std::uint8_t, 32>;

/// SHA-256 of `data`.
Digest sha256(std::string_view data);
/// HMAC-SHA256 of `data` under `key`.
Digest hmacSha256(std::string_view key, std::string_view data);
/// Lower-case hex of a digest.
std::string hexOf(const Digest& digest);
/// Lower-case hex SHA-256 of `data`.
std::string sha256Hex(std::string_view data);

/// The parts of a request that SigV4 covers. `path` is the decoded path (it is encoded
/// here); `query` holds decoded name/value pairs; `headers` are exactly the headers to sign,
/// in any order and case (duplicates are joined with ',').
struct CanonicalInput {
    std::string method = "POST";
    std::string path = "/";
    std::vector<std::pair<std::string, std::string>> query{};
    HttpHeaders headers{};
    std::string_view body{}; ///< Borrowed: must outlive the call.
    /// Remove "." and ".." segments and collapse "//" (every service but S3).
    bool normalizePath = true;
};

/// The canonical request and the signed-headers list it used.
struct CanonicalRequest {
    std::string text{};
    std::string signedHeaders{};
};

/// Whitespace trimmed at both ends and inner runs collapsed to one space.
std::string trimAll(std::string_view value);
/// The canonical URI of a decoded path.
std::string canonicalUri(std::string_view path, bool normalize);
/// The canonical query string of decoded pairs.
std::string canonicalQuery(const std::vector<std::pair<std::string, std::string>>& query);
/// Stage 1: the canonical request.
CanonicalRequest canonicalRequest(const CanonicalInput& input);
/// "20150830/us-east-1/ec2/aws4_request"
std::string credentialScope(std::string_view day, std::string_view region,
                            std::string_view service);
/// Stage 2: "AWS4-HMAC-SHA256\n<amzDate>\n<scope>\n<hex sha256 of canonical>".
std::string stringToSign(std::string_view canonical, std::string_view amzDate,
                         std::string_view scope);
/// Stage 3: the signing key for one day, region and service.
Digest signingKey(std::string_view secret, std::string_view day, std::string_view region,
                  std::string_view service);
/// Stage 4: lower-case hex HMAC of the string to sign.
std::string signature(const Digest& key, std::string_view stringToSign);
/// The Authorization header value.
std::string authorizationHeader(std::string_view accessKeyId, std::string_view scope,
                                std::string_view signedHeaders, std::string_view signature);

/// What signRequest needs besides the request.
struct SigningParams {
    std::string accessKeyId{};
    std::string secretAccessKey{}; ///< Secret: never logged.
    std::string sessionToken{};    ///< Empty for long-term keys.
    std::string region{};
    std::string service = "ec2";
    WallTime time{};
};

/// The Host header value SigV4 signs for a URL: lower-cased host, port kept only when it
/// is not the scheme's default.
std::string signingHost(std::string_view url);

/// Decoded path and query of a URL ("/" when the path is empty).
std::pair<std::string, std::vector<std::pair<std::string, std::string>>>
splitPathAndQuery(std::string_view url);

/// Percent-decodes `text` ('+' stays '+').
std::string percentDecode(std::string_view text);

/// Remembers the last signing key: it depends only on (secret, day, region, service), so
/// one HMAC chain a day is enough. Thread-compatible.
class SigningKeyCache {
public:
    const Digest& get(std::string_view secret, std::string_view day, std::string_view region,
                      std::string_view service);

private:
    std::string secret_; ///< Secret: never logged.
    std::string day_;
    std::string region_;
    std::string service_;
    Digest key_{};
};

/// Signs `request` in place: sets Host, X-Amz-Date and (with a token) X-Amz-Security-Token,
/// signs them plus Content-Type and X-Amz-Target (JSON protocols) when present, as the
/// SDKs do, then appends Authorization. Other headers
/// already on the request (User-Agent, ...) are sent but not signed.
void signRequest(HttpRequest& request, const SigningParams& params,
                 SigningKeyCache* cache = nullptr);

} // namespace autoscale::aws
