// SPDX-License-Identifier: Apache-2.0
/// \file
/// A fake SQS endpoint on 127.0.0.1 speaking the JSON protocol (POST "/", X-Amz-Target
/// "AmazonSQS.<Operation>", Content-Type application/x-amz-json-1.0): SendMessage,
/// ReceiveMessage (long polling honoured, capped at a short real wait), DeleteMessage and
/// DeleteMessageBatch over in-memory queues with visibility timeouts. Every request's
/// SigV4 signature (service "sqs") is verified with the test secret; errors use SQS's
/// JSON error shape ({"__type": "com.amazonaws.sqs#Code", "message"}, plus the
/// x-amzn-query-error header) and can be scripted. Every request is recorded.

#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <autoscale/clock.h>

#include "fake_http_server.h"
#include "sigv4_check.h"

namespace autoscale::test {

struct FakeSqsOptions {
    std::string accessKeyId = "AKIDEXAMPLE";
    std::string secretAccessKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    std::string region = "us-east-1";
    std::string sessionToken{}; ///< When set, required (signed).
    std::string account = "123456789012";
    /// Longest real time a ReceiveMessage waits for a message (WaitTimeSeconds is capped
    /// to this, so that tests stay fast).
    std::chrono::milliseconds maxRealWait{1500};
    /// How long a received message stays invisible (by the fake's clock) unless the
    /// request says otherwise.
    std::chrono::seconds visibilityTimeout{30};
};

/// One request as the fake decoded it.
struct FakeSqsCall {
    std::string operation{}; ///< "ReceiveMessage", from X-Amz-Target.
    std::string target{};    ///< The raw X-Amz-Target header.
    std::string body{};      ///< The raw JSON body.
    std::map<std::string, std::string> headers{};
    int status = 0;
    std::string errorCode{}; ///< The __type's code when the fake answered an error.
};

/// A scripted error reply.
struct FakeSqsError {
    int status = 400;
    std::string code{}; ///< E.g. "ThrottlingException", "QueueDoesNotExist".
    std::string message{};
};

class FakeSqs {
public:
    /// `clock` drives visibility timeouts and the signature-age check; it must outlive
    /// the fake.
    explicit FakeSqs(const Clock& clock, FakeSqsOptions options = {});
    ~FakeSqs();
    FakeSqs(const FakeSqs&) = delete;
    FakeSqs& operator=(const FakeSqs&) = delete;

    /// "http://127.0.0.1:PORT": what AWS_ENDPOINT_URL_SQS points at.
    [[nodiscard]] std::string endpoint() const;
    /// Creates the queue if needed; its URL as AWS spells it,
    /// "https://sqs.<region>.amazonaws.com/<account>/<name>". The fake finds queues by
    /// the URL's path, so any host works.
    std::string createQueue(const std::string& name);
    /// Puts a message on a queue (created if needed); returns its MessageId.
    std::string send(const std::string& queue, const std::string& body);
    /// The next requests get these errors, in order (after signature checks).
    void failNext(FakeSqsError error);
    /// The next ReceiveMessage replies carry a wrong MD5OfBody.
    void corruptNextMd5();

    /// Bodies of the messages still on a queue (deleted ones are gone).
    [[nodiscard]] std::vector<std::string> bodies(const std::string& queue) const;
    [[nodiscard]] std::vector<FakeSqsCall> calls() const;
    [[nodiscard]] std::vector<FakeSqsCall> calls(const std::string& operation) const;
    [[nodiscard]] int signatureFailures() const;
    [[nodiscard]] int deleted() const;
    /// ReceiveMessage calls waiting (long polling) right now.
    [[nodiscard]] int waiting() const;

private:
    struct Message {
        std::string id{};
        std::string body{};
        std::string receiptHandle{}; ///< The latest one handed out.
        WallTime invisibleUntil{};
        int receiveCount = 0;
    };
    struct Queue {
        std::deque<Message> messages{};
    };

    FakeReply handle(const RecordedRequest& request);
    FakeReply receiveMessage(std::unique_lock<std::mutex>& lock, FakeSqsCall& call, Queue& queue,
                             int maxMessages, int waitSeconds, int visibility);
    bool removeByHandle(Queue& queue, const std::string& handle);
    FakeReply error(FakeSqsCall& call, int status, const std::string& code,
                    const std::string& message);
    Queue* findQueue(const std::string& url);

    const Clock& clock_;
    FakeSqsOptions options_;
    mutable std::mutex mutex_;
    std::condition_variable arrived_;
    std::map<std::string, Queue> queues_; ///< By name.
    std::deque<FakeSqsError> scripted_;
    std::vector<FakeSqsCall> calls_;
    int corruptMd5_ = 0;
    int signatureFailures_ = 0;
    int deleted_ = 0;
    int waiting_ = 0;
    int nextId_ = 1;
    bool stopping_ = false;
    FakeHttpServer server_; // Last: destroyed (stopped) first.
};

} // namespace autoscale::test
