// SPDX-License-Identifier: Apache-2.0
/// \file
/// A small HTTP client seam. The libcurl implementation lives in src/http/.

#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <autoscale/result.h>

namespace autoscale {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
    std::string method = "GET";
    std::string url{};
    HttpHeaders headers{};
    std::string body{};
};

/// A completed exchange. A 4xx or 5xx status is still a successful exchange:
/// classifying it is the caller's job.
struct HttpResponse {
    int status = 0;
    HttpHeaders headers{}; ///< Names lower-cased.
    std::string body{};

    /// The first header with this (lower-case) name, or "".
    [[nodiscard]] std::string header(std::string_view name) const;
};

struct HttpOptions {
    std::chrono::milliseconds connectTimeout{5000};
    std::chrono::milliseconds totalTimeout{30000};
    /// Allowed URL schemes, as CURLOPT_PROTOCOLS_STR takes them. Plain "http"
    /// only where the operator configured it (or a loopback test endpoint).
    std::string protocols = "https";
    /// Optional CA bundle file; empty means the system store.
    std::string caFile{};
    /// Response bodies larger than this fail with Errc::Transport.
    std::size_t maxBodyBytes = std::size_t{256} * 1024 * 1024;
};

/// Sends one request and waits for the whole answer. One client per thread;
/// not thread-safe.
class HttpClient {
public:
    virtual ~HttpClient();

    /// Errc::Transport when the peer cannot be reached or the exchange broke,
    /// Errc::Timeout when a timeout passed. The message names the URL's host.
    [[nodiscard]] virtual Result<HttpResponse> send(const HttpRequest& request) = 0;

    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

protected:
    HttpClient() = default;
};

/// A libcurl easy-handle client. curl_global_init is main's job.
Result<std::unique_ptr<HttpClient>> makeCurlHttpClient(HttpOptions options = {});

/// Percent-encodes per RFC 3986 (unreserved characters kept), as SigV4 and
/// form bodies need.
std::string uriEncode(std::string_view text, bool encodeSlash = true);

/// "host:port" of a URL, for messages ("drone.example.com:443").
std::string hostPortOf(std::string_view url);

} // namespace autoscale
