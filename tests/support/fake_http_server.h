// SPDX-License-Identifier: Apache-2.0
/// \file
/// An in-process HTTP server on 127.0.0.1, port 0, for tests: handlers per
/// (method, path), every request recorded. Listening before the constructor
/// returns; stopped and joined by the destructor.

#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <autoscale/http.h>

namespace httplib {
class Server;
}

namespace autoscale::test {

struct RecordedRequest {
    std::string method{};
    std::string path{};
    std::string query{};                        ///< Raw query string, without '?'.
    std::map<std::string, std::string> headers; ///< Lower-case names.
    std::string body{};
};

/// A reply; `delay` makes the server wait before answering (slow peers).
struct FakeReply {
    int status = 200;
    HttpHeaders headers{};
    std::string body{};
    std::chrono::milliseconds delay{0};
    bool dropConnection = false; ///< Close the socket without answering.
};

using Handler = std::function<FakeReply(const RecordedRequest&)>;

class FakeHttpServer {
public:
    /// Listens on 127.0.0.1:`port`; 0 picks a free port.
    explicit FakeHttpServer(int port = 0);
    ~FakeHttpServer();
    FakeHttpServer(const FakeHttpServer&) = delete;
    FakeHttpServer& operator=(const FakeHttpServer&) = delete;

    /// Routes `method` + exact `path` (without query) to `handler`. "*" matches any path.
    void on(const std::string& method, const std::string& path, Handler handler);

    [[nodiscard]] int port() const { return port_; }
    /// "http://127.0.0.1:PORT"
    [[nodiscard]] std::string baseUrl() const;
    [[nodiscard]] std::vector<RecordedRequest> requests() const;
    void clearRequests();

private:
    FakeReply dispatch(const RecordedRequest& request);

    std::unique_ptr<httplib::Server> server_;
    int port_ = 0;
    mutable std::mutex mutex_;
    std::map<std::pair<std::string, std::string>, Handler> handlers_;
    std::vector<RecordedRequest> requests_;
    std::jthread thread_;
};

} // namespace autoscale::test
