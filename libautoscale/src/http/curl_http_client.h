// SPDX-License-Identifier: Apache-2.0
/// \file
/// HttpClient on libcurl's easy interface (private header).

#pragma once

#include <array>
#include <memory>

#include <curl/curl.h>

#include <autoscale/http.h>

namespace autoscale {

struct CurlEasyDeleter {
    void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
struct CurlSlistDeleter {
    void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using CurlEasy = std::unique_ptr<CURL, CurlEasyDeleter>;
using CurlHeaderList = std::unique_ptr<curl_slist, CurlSlistDeleter>;

class CurlHttpClient final : public HttpClient {
public:
    CurlHttpClient(CurlEasy handle, HttpOptions options);
    [[nodiscard]] Result<HttpResponse> send(const HttpRequest& request) override;

private:
    CurlEasy handle_;
    HttpOptions options_;
    std::array<char, CURL_ERROR_SIZE> errorBuffer_{};
};

} // namespace autoscale
