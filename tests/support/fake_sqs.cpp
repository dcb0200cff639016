// SPDX-License-Identifier: Apache-2.0
/// \file
/// FakeSqs on FakeHttpServer. The wire shapes are those of botocore's SQS model
/// (2012-11-05, protocol json): member names as in the model, errors as "__type".

#include "fake_sqs.h"

#include <algorithm>
#include <utility>

#include "aws/sqs_client.h"
#include "core/json_text.h"
#include "core/json_value.h"

namespace autoscale::test {

namespace {

/// The queue name of a queue URL: the last segment of "/<account>/<name>".
std::string queueNameOf(const std::string& url) {
    const auto scheme = url.find("://");
    const auto pathStart = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
    if (pathStart == std::string::npos)
        return {};
    const std::string path = url.substr(pathStart);
    const auto last = path.rfind('/');
    if (last == 0 || last == std::string::npos)
        return {};
    return path.substr(last + 1);
}

std::string queryErrorOf(const std::string& code) {
    if (code == "QueueDoesNotExist")
        return "AWS.SimpleQueueService.NonExistentQueue;Sender";
    if (code == "ReceiptHandleIsInvalid")
        return "ReceiptHandleIsInvalid;Sender";
    if (code == "ThrottlingException" || code == "RequestThrottled")
        return "RequestThrottled;Sender";
    return {};
}

} // namespace

FakeSqs::FakeSqs(const Clock& clock, FakeSqsOptions options)
    : clock_(clock)
    , options_(std::move(options)) {
    server_.on("POST", "*", [this](const RecordedRequest& r) { return handle(r); });
}

FakeSqs::~FakeSqs() {
    {
        const std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    arrived_.notify_all();
}

std::string FakeSqs::endpoint() const {
    return server_.baseUrl();
}

std::string FakeSqs::createQueue(const std::string& name) {
    const std::lock_guard lock(mutex_);
    queues_.try_emplace(name);
    return "https://sqs." + options_.region + ".amazonaws.com/" + options_.account + "/" + name;
}

std::string FakeSqs::send(const std::string& queue, const std::string& body) {
    std::string id;
    {
        const std::lock_guard lock(mutex_);
        id = "msg-" + std::to_string(nextId_++);
        queues_[queue].messages.push_back(Message{.id = id, .body = body});
    }
    arrived_.notify_all();
    return id;
}

void FakeSqs::failNext(FakeSqsError error) {
    const std::lock_guard lock(mutex_);
    scripted_.push_back(std::move(error));
}

void FakeSqs::corruptNextMd5() {
    const std::lock_guard lock(mutex_);
    ++corruptMd5_;
}

std::vector<std::string> FakeSqs::bodies(const std::string& queue) const {
    const std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    if (const auto it = queues_.find(queue); it != queues_.end()) {
        for (const auto& m : it->second.messages)
            out.push_back(m.body);
    }
    return out;
}

std::vector<FakeSqsCall> FakeSqs::calls() const {
    const std::lock_guard lock(mutex_);
    return calls_;
}

std::vector<FakeSqsCall> FakeSqs::calls(const std::string& operation) const {
    std::vector<FakeSqsCall> out;
    for (auto& c : calls()) {
        if (c.operation == operation)
            out.push_back(std::move(c));
    }
    return out;
}

int FakeSqs::signatureFailures() const {
    const std::lock_guard lock(mutex_);
    return signatureFailures_;
}

int FakeSqs::waiting() const {
    const std::lock_guard lock(mutex_);
    return waiting_;
}

int FakeSqs::deleted() const {
    const std::lock_guard lock(mutex_);
    return deleted_;
}

FakeReply FakeSqs::error(FakeSqsCall& call, int status, const std::string& code,
                         const std::string& message) {
    call.status = status;
    call.errorCode = code;
    calls_.push_back(call);
    const bool coral = code.ends_with("Exception") && code != "QueueDoesNotExist";
    const std::string type = (coral ? "com.amazon.coral.service#" : "com.amazonaws.sqs#") + code;
    HttpHeaders headers{{"Content-Type", "application/x-amz-json-1.0"},
                        {"x-amzn-RequestId", "req-" + std::to_string(calls_.size())}};
    if (const std::string query = queryErrorOf(code); !query.empty())
        headers.emplace_back("x-amzn-query-error", query);
    return FakeReply{.status = status,
                     .headers = std::move(headers),
                     .body = "{\"__type\":" + detail::jsonQuote(type) +
                             ",\"message\":" + detail::jsonQuote(message) + "}"};
}

FakeSqs::Queue* FakeSqs::findQueue(const std::string& url) {
    const auto it = queues_.find(queueNameOf(url));
    return it == queues_.end() ? nullptr : &it->second;
}

bool FakeSqs::removeByHandle(Queue& queue, const std::string& handle) {
    const auto it = std::ranges::find_if(
            queue.messages, [&](const Message& m) { return m.receiptHandle == handle; });
    if (it == queue.messages.end() || handle.empty())
        return false;
    queue.messages.erase(it);
    ++deleted_;
    return true;
}

FakeReply FakeSqs::receiveMessage(std::unique_lock<std::mutex>& lock, FakeSqsCall& call,
                                  Queue& queue, int maxMessages, int waitSeconds, int visibility) {
    const auto visible = [&] {
        return std::ranges::any_of(
                queue.messages, [&](const Message& m) { return m.invisibleUntil <= clock_.now(); });
    };
    if (waitSeconds > 0 && !visible()) {
        const auto wait = std::min<std::chrono::milliseconds>(std::chrono::seconds(waitSeconds),
                                                              options_.maxRealWait);
        // Real time: long polling holds the connection until a message or the wait ends.
        ++waiting_;
        arrived_.wait_for(lock, wait, [&] { return stopping_ || visible(); });
        --waiting_;
    }
    std::string list;
    int taken = 0;
    for (auto& m : queue.messages) {
        if (taken >= maxMessages || m.invisibleUntil > clock_.now())
            continue;
        ++taken;
        ++m.receiveCount;
        m.receiptHandle = "rh-" + m.id + "-" + std::to_string(m.receiveCount);
        m.invisibleUntil = clock_.now() + std::chrono::seconds(visibility);
        std::string md5 = aws::md5Hex(m.body);
        if (corruptMd5_ > 0)
            md5 = "00000000000000000000000000000000";
        list += (list.empty() ? "" : ",") + std::string("{\"MessageId\":") +
                detail::jsonQuote(m.id) +
                ",\"ReceiptHandle\":" + detail::jsonQuote(m.receiptHandle) +
                ",\"MD5OfBody\":" + detail::jsonQuote(md5) +
                ",\"Body\":" + detail::jsonQuote(m.body) + "}";
    }
    if (corruptMd5_ > 0 && taken > 0)
        --corruptMd5_;
    call.status = 200;
    calls_.push_back(call);
    return FakeReply{.headers = {{"Content-Type", "application/x-amz-json-1.0"},
                                 {"x-amzn-RequestId", "req-" + std::to_string(calls_.size())}},
                     .body = taken == 0 ? "{}" : "{\"Messages\":[" + list + "]}"};
}

FakeReply FakeSqs::handle(const RecordedRequest& request) {
    std::unique_lock lock(mutex_);
    FakeSqsCall call;
    call.body = request.body;
    call.headers = request.headers;
    if (const auto it = request.headers.find("x-amz-target"); it != request.headers.end())
        call.target = it->second;
    call.operation = call.target.starts_with("AmazonSQS.") ? call.target.substr(10) : "";

    const SigV4Failure failure =
            verifySigV4(request,
                        SigV4Expectation{.accessKeyId = options_.accessKeyId,
                                         .secretAccessKey = options_.secretAccessKey,
                                         .region = options_.region,
                                         .service = "sqs",
                                         .sessionToken = options_.sessionToken},
                        clock_);
    switch (failure) {
    case SigV4Failure::None:
        break;
    case SigV4Failure::Missing:
        ++signatureFailures_;
        return error(call, 400, "MissingAuthenticationTokenException",
                     "Request is missing Authentication Token");
    case SigV4Failure::Incomplete:
        ++signatureFailures_;
        return error(call, 400, "IncompleteSignatureException",
                     "Authorization header requires Credential, SignedHeaders and Signature");
    case SigV4Failure::UnknownKey:
    case SigV4Failure::BadToken:
        ++signatureFailures_;
        return error(call, 400, "UnrecognizedClientException",
                     "The security token included in the request is invalid.");
    case SigV4Failure::WrongScope:
        ++signatureFailures_;
        return error(call, 403, "InvalidSignatureException",
                     "Credential should be scoped to a valid region and service.");
    case SigV4Failure::Expired:
        ++signatureFailures_;
        return error(call, 400, "InvalidSignatureException",
                     "Signature expired: the request "
                     "time is too far from the server's");
    case SigV4Failure::Mismatch:
        ++signatureFailures_;
        return error(call, 400, "InvalidSignatureException",
                     "The request signature we calculated does not match the signature you "
                     "provided.");
    }
    const auto type = request.headers.find("content-type");
    if (type == request.headers.end() || type->second != aws::kSqsContentType)
        return error(call, 400, "InvalidParameterValue", "unexpected Content-Type");
    if (!scripted_.empty()) {
        FakeSqsError next = std::move(scripted_.front());
        scripted_.pop_front();
        return error(call, next.status, next.code, next.message);
    }
    auto doc = detail::parseJsonDocument(request.body, "the request");
    if (!doc || !doc->IsObject())
        return error(call, 400, "SerializationException", "the body is not a JSON object");
    const std::string url = detail::jsonString(*doc, "QueueUrl");
    if (call.operation != "ReceiveMessage" && call.operation != "DeleteMessage" &&
        call.operation != "DeleteMessageBatch" && call.operation != "SendMessage")
        return error(call, 400, "UnknownOperationException", "unknown operation " + call.target);
    Queue* queue = findQueue(url);
    if (queue == nullptr) {
        return error(call, 400, "QueueDoesNotExist",
                     "The specified queue does not exist for this wsdl version.");
    }
    if (call.operation == "SendMessage") {
        const std::string id = "msg-" + std::to_string(nextId_++);
        const std::string body = detail::jsonString(*doc, "MessageBody");
        queue->messages.push_back(Message{.id = id, .body = body});
        arrived_.notify_all();
        call.status = 200;
        calls_.push_back(call);
        return FakeReply{.body = "{\"MessageId\":" + detail::jsonQuote(id) +
                                 ",\"MD5OfMessageBody\":" + detail::jsonQuote(aws::md5Hex(body)) +
                                 "}"};
    }
    if (call.operation == "ReceiveMessage") {
        const auto member = [&](const char* name, std::int64_t fallback) {
            auto it = std::as_const(*doc).FindMember(name);
            return it != std::as_const(*doc).MemberEnd() && it->value.IsInt64()
                           ? it->value.GetInt64()
                           : fallback;
        };
        const std::int64_t max = member("MaxNumberOfMessages", 1);
        const std::int64_t wait = member("WaitTimeSeconds", 0);
        const std::int64_t visibility =
                member("VisibilityTimeout", options_.visibilityTimeout.count());
        if (max < 1 || max > 10 || wait < 0 || wait > 20 || visibility < 0 || visibility > 43200)
            return error(call, 400, "InvalidParameterValue", "a value is out of range");
        return receiveMessage(lock, call, *queue, static_cast<int>(max), static_cast<int>(wait),
                              static_cast<int>(visibility));
    }
    if (call.operation == "DeleteMessage") {
        const std::string handle = detail::jsonString(*doc, "ReceiptHandle");
        if (!removeByHandle(*queue, handle)) {
            // SQS accepts a handle of a message already deleted; an unknown shape is
            // refused. The fake refuses anything it never handed out.
            if (!handle.starts_with("rh-")) {
                return error(call, 400, "ReceiptHandleIsInvalid",
                             "The receipt handle is "
                             "not valid.");
            }
        }
        call.status = 200;
        calls_.push_back(call);
        return FakeReply{.body = "{}"};
    }
    // DeleteMessageBatch
    std::string ok;
    std::string failed;
    auto entries = std::as_const(*doc).FindMember("Entries");
    if (entries != std::as_const(*doc).MemberEnd() && entries->value.IsArray()) {
        for (const auto& e : entries->value.GetArray()) {
            if (!e.IsObject())
                continue;
            const std::string id = detail::jsonString(e, "Id");
            const std::string handle = detail::jsonString(e, "ReceiptHandle");
            if (removeByHandle(*queue, handle) || handle.starts_with("rh-")) {
                ok += (ok.empty() ? "" : ",") + std::string("{\"Id\":") + detail::jsonQuote(id) +
                      "}";
            } else {
                failed += (failed.empty() ? "" : ",") + std::string("{\"Id\":") +
                          detail::jsonQuote(id) +
                          R"(,"SenderFault":true,"Code":"ReceiptHandleIsInvalid"})";
            }
        }
    }
    call.status = 200;
    calls_.push_back(call);
    return FakeReply{.body = "{\"Successful\":[" + ok + "],\"Failed\":[" + failed + "]}"};
}

} // namespace autoscale::test
