// SPDX-License-Identifier: Apache-2.0
// The libcurl HttpClient against the loopback fake server.

#include <doctest/doctest.h>

#include <autoscale/http.h>

#include "doctest_support.h"
#include "fake_http_server.h"

namespace autoscale {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<HttpClient> client(std::chrono::milliseconds total = 5000ms) {
    auto made = makeCurlHttpClient(
            HttpOptions{.connectTimeout = 2000ms, .totalTimeout = total, .protocols = "http"});
    REQUIRE(made);
    return std::move(*made);
}

TEST_CASE("a GET carries our headers and returns status, headers and body") {
    test::FakeHttpServer server;
    server.on("GET", "/hello", [](const test::RecordedRequest&) {
        return test::FakeReply{.status = 201, .headers = {{"X-Thing", "yes"}}, .body = "hi"};
    });
    auto http = client();
    const auto res = http->send(
            {.method = "GET", .url = server.baseUrl() + "/hello?a=1", .headers = {{"X-A", "b"}}});
    REQUIRE(res);
    CHECK(res->status == 201);
    CHECK(res->body == "hi");
    CHECK(res->header("x-thing") == "yes");
    const auto seen = server.requests();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].headers.at("x-a") == "b");
    CHECK(seen[0].query == "a=1");
    CHECK(seen[0].headers.count("expect") == 0);
}

TEST_CASE("a POST sends its body") {
    test::FakeHttpServer server;
    server.on("POST", "/", [](const test::RecordedRequest& r) {
        return test::FakeReply{.status = 200, .body = "got " + r.body};
    });
    auto http = client();
    const auto res = http->send({.method = "POST",
                                 .url = server.baseUrl() + "/",
                                 .headers = {{"Content-Type", "text/plain"}},
                                 .body = "Action=Ping"});
    REQUIRE(res);
    CHECK(res->body == "got Action=Ping");
}

TEST_CASE("an unreachable host is a transport error naming host and port") {
    int port = 0;
    {
        test::FakeHttpServer gone;
        port = gone.port();
    }
    auto http = client();
    const auto res = http->send({.url = "http://127.0.0.1:" + std::to_string(port) + "/"});
    REQUIRE_FALSE(res);
    CHECK(res.error().code == Errc::Transport);
    CHECK(res.error().message.find("127.0.0.1:" + std::to_string(port)) != std::string::npos);
}

TEST_CASE("a slow peer hits the total timeout") {
    test::FakeHttpServer server;
    server.on("GET", "/slow", [](const test::RecordedRequest&) {
        return test::FakeReply{.status = 200, .body = "late", .delay = 1500ms};
    });
    auto http = client(300ms);
    const auto res = http->send({.url = server.baseUrl() + "/slow"});
    REQUIRE_FALSE(res);
    CHECK(res.error().code == Errc::Timeout);
}

TEST_CASE("a scheme outside the allowed protocols is refused") {
    auto made = makeCurlHttpClient(HttpOptions{.protocols = "https"});
    REQUIRE(made);
    const auto res = (*made)->send({.url = "http://127.0.0.1:1/"});
    REQUIRE_FALSE(res);
    CHECK(res.error().code == Errc::Transport);
}

TEST_CASE("uriEncode keeps unreserved characters and encodes the rest") {
    CHECK(uriEncode("a-Z_0.~") == "a-Z_0.~");
    CHECK(uriEncode("a b/c=d&e+f") == "a%20b%2Fc%3Dd%26e%2Bf");
    CHECK(uriEncode("a/b", false) == "a/b");
    CHECK(uriEncode("\xC3\xA9") == "%C3%A9");
    CHECK(hostPortOf("https://drone.example.com/api") == "drone.example.com:443");
    CHECK(hostPortOf("http://127.0.0.1:8080/x") == "127.0.0.1:8080");
}

} // namespace
} // namespace autoscale
