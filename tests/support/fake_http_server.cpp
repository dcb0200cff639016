// SPDX-License-Identifier: Apache-2.0
/// \file
/// FakeHttpServer on cpp-httplib.

#include "fake_http_server.h"

#include <cctype>
#include <httplib.h>
#include <stdexcept>

namespace autoscale::test {

FakeHttpServer::FakeHttpServer(int port) : server_(std::make_unique<httplib::Server>()) {
    auto handle = [this](const httplib::Request& req, httplib::Response& res) {
        RecordedRequest rec;
        rec.method = req.method;
        rec.path = req.path;
        rec.body = req.body;
        for (const auto& [name, value] : req.headers) {
            std::string lower = name;
            for (auto& c : lower)
                c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            rec.headers[lower] = value;
        }
        if (const auto q = req.target.find('?'); q != std::string::npos)
            rec.query = req.target.substr(q + 1);
        const FakeReply reply = dispatch(rec);
        if (reply.delay.count() > 0)
            std::this_thread::sleep_for(reply.delay); // Real time: the peer is slow on purpose.
        if (reply.dropConnection) {
            res.status = 500;
            res.set_header("Connection", "close");
            res.set_content_provider(
                    1, "text/plain",
                    [](std::size_t, std::size_t, httplib::DataSink&) { return false; });
            return;
        }
        res.status = reply.status;
        std::string contentType = "application/json";
        for (const auto& [name, value] : reply.headers) {
            if (name == "Content-Type" || name == "content-type")
                contentType = value;
            else
                res.set_header(name, value);
        }
        res.set_content(reply.body, contentType);
    };
    // POST bodies are read through a content reader: Debian's compiled cpp-httplib answers
    // 413 to form-urlencoded bodies over 8 KiB otherwise, and EC2 Query bodies (1000
    // instance ids, user data) are larger; AWS accepts them, so the fakes must too.
    auto withBody = [handle](const httplib::Request& req, httplib::Response& res,
                             const httplib::ContentReader& reader) {
        httplib::Request copy = req;
        reader([&copy](const char* data, std::size_t length) {
            copy.body.append(data, length);
            return true;
        });
        handle(copy, res);
    };
    for (const char* method : {"GET", "POST", "PUT", "DELETE", "PATCH"}) {
        const std::string m = method;
        const std::string pattern = ".*";
        if (m == "GET")
            server_->Get(pattern, handle);
        else if (m == "POST")
            server_->Post(pattern, withBody);
        else if (m == "PUT")
            server_->Put(pattern, handle);
        else if (m == "DELETE")
            server_->Delete(pattern, handle);
        else
            server_->Patch(pattern, handle);
    }
    server_->set_keep_alive_max_count(1);
    if (port > 0)
        port_ = server_->bind_to_port("127.0.0.1", port) ? port : -1;
    else
        port_ = server_->bind_to_any_port("127.0.0.1");
    if (port_ <= 0)
        throw std::runtime_error("FakeHttpServer: bind to 127.0.0.1 failed");
    thread_ = std::jthread([this] { server_->listen_after_bind(); });
    // The socket already listens (connections queue in the backlog); wait until
    // the accept loop runs so that stop() in the destructor cannot miss it.
    while (!server_->is_running())
        std::this_thread::yield();
}

FakeHttpServer::~FakeHttpServer() {
    server_->stop();
    if (thread_.joinable())
        thread_.join();
}

void FakeHttpServer::on(const std::string& method, const std::string& path, Handler handler) {
    const std::lock_guard lock(mutex_);
    handlers_[{method, path}] = std::move(handler);
}

std::string FakeHttpServer::baseUrl() const {
    return "http://127.0.0.1:" + std::to_string(port_);
}

std::vector<RecordedRequest> FakeHttpServer::requests() const {
    const std::lock_guard lock(mutex_);
    return requests_;
}

void FakeHttpServer::clearRequests() {
    const std::lock_guard lock(mutex_);
    requests_.clear();
}

FakeReply FakeHttpServer::dispatch(const RecordedRequest& request) {
    Handler handler;
    {
        const std::lock_guard lock(mutex_);
        requests_.push_back(request);
        auto it = handlers_.find({request.method, request.path});
        if (it == handlers_.end())
            it = handlers_.find({request.method, "*"});
        if (it == handlers_.end())
            return FakeReply{.status = 404, .body = R"({"message":"no fake handler"})"};
        handler = it->second;
    }
    return handler(request);
}

} // namespace autoscale::test
