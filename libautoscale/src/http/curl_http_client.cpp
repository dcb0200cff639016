// SPDX-License-Identifier: Apache-2.0
/// \file
/// HttpClient on libcurl's easy interface. One handle per client, one client
/// per thread; curl_global_init() is the program's job (CurlGlobal in main).

#include "curl_http_client.h"

#include <cstddef>
#include <string>
#include <utility>

#include "core/text.h"

namespace autoscale {

HttpClient::~HttpClient() = default;

namespace {

struct BodySink {
    std::string* body = nullptr;
    std::size_t limit = 0;
    bool overflow = false;
};

std::size_t appendBody(char* data, std::size_t size, std::size_t count, void* userdata) {
    auto* sink = static_cast<BodySink*>(userdata);
    const std::size_t n = size * count;
    if (sink->body->size() + n > sink->limit) {
        sink->overflow = true;
        return 0;
    }
    sink->body->append(data, n);
    return n;
}

std::size_t appendHeader(char* data, std::size_t size, std::size_t count, void* userdata) {
    auto* headers = static_cast<HttpHeaders*>(userdata);
    const std::size_t n = size * count;
    std::string_view line(data, n);
    if (line.starts_with("HTTP/")) {
        headers->clear(); // A new response (after a redirect or 100-continue).
        return n;
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos)
        return n;
    std::string name = detail::lower(line.substr(0, colon));
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
        value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
        value.remove_suffix(1);
    headers->emplace_back(std::move(name), std::string(value));
    return n;
}

Error transportError(CURLcode code, const char* detail, const std::string& url) {
    const Errc kind = code == CURLE_OPERATION_TIMEDOUT ? Errc::Timeout : Errc::Transport;
    std::string message = hostPortOf(url) + ": " + curl_easy_strerror(code);
    if (detail[0] != '\0')
        message += std::string(" (") + detail + ")";
    return Error{.code = kind, .message = std::move(message)};
}

} // namespace

std::string HttpResponse::header(std::string_view name) const {
    for (const auto& [key, value] : headers) {
        if (key == name)
            return value;
    }
    return {};
}

Result<std::unique_ptr<HttpClient>> makeCurlHttpClient(HttpOptions options) {
    CurlEasy handle(curl_easy_init());
    if (!handle)
        return makeError(Errc::Internal, "curl_easy_init failed");
    return std::unique_ptr<HttpClient>(
            std::make_unique<CurlHttpClient>(std::move(handle), std::move(options)));
}

CurlHttpClient::CurlHttpClient(CurlEasy handle, HttpOptions options)
    : handle_(std::move(handle))
    , options_(std::move(options)) {
}

Result<HttpResponse> CurlHttpClient::send(const HttpRequest& request) {
    CURL* const h = handle_.get();
    curl_easy_reset(h); // Options back to defaults; the connection cache survives.
    errorBuffer_[0] = '\0';

    CurlHeaderList headerList;
    auto addHeader = [&](const std::string& line) {
        curl_slist* next = curl_slist_append(headerList.get(), line.c_str());
        if (next != nullptr) {
            (void)headerList.release();
            headerList.reset(next);
        }
        return next != nullptr;
    };
    for (const auto& [name, value] : request.headers) {
        if (!addHeader(std::string(name).append(": ").append(value)))
            return makeError(Errc::Internal, "curl_slist_append failed");
    }
    if (!addHeader("Expect:"))
        return makeError(Errc::Internal, "curl_slist_append failed");

    HttpResponse response;
    BodySink sink{.body = &response.body, .limit = options_.maxBodyBytes};
    CURLcode rc = CURLE_OK;
    auto set = [&](CURLoption option, auto value) {
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(h, option, value);
    };
    set(CURLOPT_URL, request.url.c_str());
    set(CURLOPT_NOSIGNAL, 1L);
    set(CURLOPT_ERRORBUFFER, errorBuffer_.data());
    set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connectTimeout.count()));
    set(CURLOPT_TIMEOUT_MS, static_cast<long>(options_.totalTimeout.count()));
    set(CURLOPT_PROTOCOLS_STR, options_.protocols.c_str());
    set(CURLOPT_REDIR_PROTOCOLS_STR, options_.protocols.c_str());
    set(CURLOPT_SSL_VERIFYPEER, 1L);
    set(CURLOPT_SSL_VERIFYHOST, 2L);
    if (!options_.caFile.empty())
        set(CURLOPT_CAINFO, options_.caFile.c_str());
    set(CURLOPT_WRITEFUNCTION, &appendBody);
    set(CURLOPT_WRITEDATA, &sink);
    set(CURLOPT_HEADERFUNCTION, &appendHeader);
    set(CURLOPT_HEADERDATA, &response.headers);
    set(CURLOPT_HTTPHEADER, headerList.get());
    if (request.method == "GET") {
        set(CURLOPT_HTTPGET, 1L);
    } else if (request.method == "HEAD") {
        set(CURLOPT_NOBODY, 1L);
    } else {
        set(CURLOPT_CUSTOMREQUEST, request.method.c_str());
        if (request.method != "DELETE" || !request.body.empty()) {
            set(CURLOPT_POSTFIELDS, request.body.c_str());
            set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
        }
    }
    if (rc != CURLE_OK)
        return transportError(rc, "while configuring the request", request.url);

    rc = curl_easy_perform(h);
    if (sink.overflow) {
        return makeError(Errc::Transport, hostPortOf(request.url) + ": response body larger than " +
                                                  std::to_string(options_.maxBodyBytes) + " bytes");
    }
    if (rc != CURLE_OK)
        return transportError(rc, errorBuffer_.data(), request.url);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    response.status = static_cast<int>(status);
    return response;
}

} // namespace autoscale
