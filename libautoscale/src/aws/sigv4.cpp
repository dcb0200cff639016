// SPDX-License-Identifier: Apache-2.0
/// \file
/// SigV4 stages on OpenSSL 3's one-shot SHA256() and HMAC().

#include "sigv4.h"

#include <algorithm>
#include <cassert>
#include <cctype>
#include <map>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "core/text.h"
#include "core/time_format.h"
#include "http/url.h"

namespace autoscale::aws {

namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

using detail::lower;

bool isSpace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

int hexValue(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

} // namespace

Digest sha256(std::string_view data) {
    Digest out{};
    SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data());
    return out;
}

Digest hmacSha256(std::string_view key, std::string_view data) {
    Digest out{};
    unsigned int length = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &length);
    assert(length == out.size() && "HMAC-SHA256 gives 32 bytes");
    return out;
}

std::string hexOf(const Digest& digest) {
    static constexpr std::string_view kHex = "0123456789abcdef";
    std::string out;
    out.reserve(digest.size() * 2);
    for (const std::uint8_t b : digest) {
        out += kHex[b >> 4U];
        out += kHex[b & 0x0FU];
    }
    return out;
}

std::string sha256Hex(std::string_view data) {
    return hexOf(sha256(data));
}

std::string trimAll(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    bool pendingSpace = false;
    for (const char c : value) {
        if (isSpace(c)) {
            pendingSpace = !out.empty();
            continue;
        }
        if (pendingSpace)
            out += ' ';
        pendingSpace = false;
        out += c;
    }
    return out;
}

std::string canonicalUri(std::string_view path, bool normalize) {
    if (path.empty())
        return "/";
    std::string normalized;
    if (normalize) {
        std::vector<std::string_view> segments;
        std::size_t start = 0;
        while (start <= path.size()) {
            auto end = path.find('/', start);
            if (end == std::string_view::npos)
                end = path.size();
            const std::string_view segment = path.substr(start, end - start);
            if (segment == "..") {
                if (!segments.empty())
                    segments.pop_back();
            } else if (!segment.empty() && segment != ".") {
                segments.push_back(segment);
            }
            start = end + 1;
        }
        if (path.front() == '/')
            normalized += '/';
        for (std::size_t i = 0; i < segments.size(); ++i) {
            if (i > 0)
                normalized += '/';
            normalized += segments[i];
        }
        if (path.back() == '/' && !segments.empty())
            normalized += '/';
        if (normalized.empty())
            normalized = "/";
    } else {
        normalized = path;
    }
    return uriEncode(normalized, false);
}

std::string canonicalQuery(const std::vector<std::pair<std::string, std::string>>& query) {
    std::vector<std::pair<std::string, std::string>> encoded;
    encoded.reserve(query.size());
    for (const auto& [name, value] : query)
        encoded.emplace_back(uriEncode(name), uriEncode(value));
    std::sort(encoded.begin(), encoded.end());
    std::string out;
    for (const auto& [name, value] : encoded) {
        if (!out.empty())
            out += '&';
        out += name;
        out += '=';
        out += value;
    }
    return out;
}

CanonicalRequest canonicalRequest(const CanonicalInput& input) {
    std::map<std::string, std::string> headers;
    for (const auto& [name, value] : input.headers) {
        auto [it, inserted] = headers.try_emplace(lower(name), trimAll(value));
        if (!inserted) {
            it->second += ',';
            it->second += trimAll(value);
        }
    }
    CanonicalRequest out;
    std::string& text = out.text;
    text.reserve(256 + input.body.size() / 8);
    text += input.method;
    text += '\n';
    text += canonicalUri(input.path, input.normalizePath);
    text += '\n';
    text += canonicalQuery(input.query);
    text += '\n';
    for (const auto& [name, value] : headers) {
        text += name;
        text += ':';
        text += value;
        text += '\n';
        if (!out.signedHeaders.empty())
            out.signedHeaders += ';';
        out.signedHeaders += name;
    }
    text += '\n';
    text += out.signedHeaders;
    text += '\n';
    text += sha256Hex(input.body);
    return out;
}

std::string credentialScope(std::string_view day, std::string_view region,
                            std::string_view service) {
    std::string out;
    out.reserve(day.size() + region.size() + service.size() + 16);
    out.append(day).append("/").append(region).append("/").append(service).append("/aws4_request");
    return out;
}

std::string stringToSign(std::string_view canonical, std::string_view amzDate,
                         std::string_view scope) {
    std::string out;
    out.reserve(kAlgorithm.size() + amzDate.size() + scope.size() + 68);
    out.append(kAlgorithm).append("\n").append(amzDate).append("\n").append(scope).append("\n");
    out += sha256Hex(canonical);
    return out;
}

Digest signingKey(std::string_view secret, std::string_view day, std::string_view region,
                  std::string_view service) {
    std::string first = "AWS4";
    first.append(secret);
    const Digest kDate = hmacSha256(first, day);
    const auto asView = [](const Digest& d) {
        return std::string_view(reinterpret_cast<const char*>(d.data()), d.size());
    };
    const Digest kRegion = hmacSha256(asView(kDate), region);
    const Digest kService = hmacSha256(asView(kRegion), service);
    return hmacSha256(asView(kService), "aws4_request");
}

std::string signature(const Digest& key, std::string_view stringToSign) {
    return hexOf(hmacSha256(std::string_view(reinterpret_cast<const char*>(key.data()), key.size()),
                            stringToSign));
}

std::string authorizationHeader(std::string_view accessKeyId, std::string_view scope,
                                std::string_view signedHeaders, std::string_view signature) {
    std::string out;
    out.reserve(128 + scope.size() + signedHeaders.size());
    out.append(kAlgorithm)
            .append(" Credential=")
            .append(accessKeyId)
            .append("/")
            .append(scope)
            .append(", SignedHeaders=")
            .append(signedHeaders)
            .append(", Signature=")
            .append(signature);
    return out;
}

std::string signingHost(std::string_view url) {
    const auto [scheme, rest] = autoscale::detail::splitUrl(url, "https");
    std::string host = lower(rest);
    const auto colon = host.rfind(':');
    const bool hasPort = colon != std::string::npos && host.find(']', colon) == std::string::npos;
    if (hasPort) {
        const std::string port = host.substr(colon + 1);
        const std::string schemeLower = lower(scheme);
        if ((schemeLower == "https" && port == "443") || (schemeLower == "http" && port == "80"))
            host.resize(colon);
    }
    return host;
}

std::string percentDecode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size()) {
            const int hi = hexValue(text[i + 1]);
            const int lo = hexValue(text[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out += static_cast<char>(hi * 16 + lo);
                i += 2;
                continue;
            }
        }
        out += text[i];
    }
    return out;
}

std::pair<std::string, std::vector<std::pair<std::string, std::string>>>
splitPathAndQuery(std::string_view url) {
    std::string_view rest = url;
    if (const auto p = rest.find("://"); p != std::string_view::npos) {
        rest.remove_prefix(p + 3);
        const auto slash = rest.find_first_of("/?#");
        rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
    }
    if (const auto hash = rest.find('#'); hash != std::string_view::npos)
        rest = rest.substr(0, hash);
    std::string_view path = rest;
    std::string_view query;
    if (const auto q = rest.find('?'); q != std::string_view::npos) {
        path = rest.substr(0, q);
        query = rest.substr(q + 1);
    }
    std::vector<std::pair<std::string, std::string>> pairs;
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view item = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (item.empty())
            continue;
        const auto eq = item.find('=');
        if (eq == std::string_view::npos) {
            pairs.emplace_back(percentDecode(item), std::string{});
        } else {
            pairs.emplace_back(percentDecode(item.substr(0, eq)),
                               percentDecode(item.substr(eq + 1)));
        }
    }
    return {path.empty() ? std::string("/") : percentDecode(path), std::move(pairs)};
}

const Digest& SigningKeyCache::get(std::string_view secret, std::string_view day,
                                   std::string_view region, std::string_view service) {
    if (secret != secret_ || day != day_ || region != region_ || service != service_) {
        key_ = signingKey(secret, day, region, service);
        secret_ = secret;
        day_ = day;
        region_ = region;
        service_ = service;
    }
    return key_;
}

void signRequest(HttpRequest& request, const SigningParams& params, SigningKeyCache* cache) {
    const std::string amzDate = detail::formatAmzDate(params.time);
    const std::string day = amzDate.substr(0, 8);
    std::erase_if(request.headers, [](const auto& header) {
        const std::string name = lower(header.first);
        return name == "host" || name == "x-amz-date" || name == "x-amz-security-token" ||
               name == "authorization";
    });
    CanonicalInput input;
    input.method = request.method;
    auto [path, query] = splitPathAndQuery(request.url);
    input.path = std::move(path);
    input.query = std::move(query);
    for (const auto& [name, value] : request.headers) {
        const std::string lowered = lower(name);
        if (lowered == "content-type" || lowered == "x-amz-target")
            input.headers.emplace_back(name, value);
    }
    const std::string host = signingHost(request.url);
    input.headers.emplace_back("host", host);
    input.headers.emplace_back("x-amz-date", amzDate);
    if (!params.sessionToken.empty())
        input.headers.emplace_back("x-amz-security-token", params.sessionToken);
    input.body = request.body;

    const CanonicalRequest canonical = canonicalRequest(input);
    const std::string scope = credentialScope(day, params.region, params.service);
    const std::string toSign = stringToSign(canonical.text, amzDate, scope);
    const Digest key =
            cache != nullptr
                    ? cache->get(params.secretAccessKey, day, params.region, params.service)
                    : signingKey(params.secretAccessKey, day, params.region, params.service);
    request.headers.emplace_back("Host", host);
    request.headers.emplace_back("X-Amz-Date", amzDate);
    if (!params.sessionToken.empty())
        request.headers.emplace_back("X-Amz-Security-Token", params.sessionToken);
    request.headers.emplace_back("Authorization", authorizationHeader(params.accessKeyId, scope,
                                                                      canonical.signedHeaders,
                                                                      signature(key, toSign)));
}

} // namespace autoscale::aws
