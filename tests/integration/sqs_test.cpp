// SPDX-License-Identifier: Apache-2.0
/// \file
/// The SQS interruption queue against the fake SQS on loopback: real libcurl, the fake
/// verifying every SigV4 signature, frozen time. The last cases hand every request our
/// client sent to botocore (tests/tools/sqs_botocore.py): each must be valid for
/// botocore's SQS model and carry the signature botocore computes for it (SKIP without
/// python3-botocore, or with a botocore whose SQS model is not JSON).

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include <doctest/doctest.h>

#include <autoscale/interruptions.h>

#include "aws/sqs_client.h"
#include "core/json_text.h"
#include "core/time_format.h"
#include "fake_clock.h"
#include "fake_sqs.h"
#include "python_oracle.h"

namespace autoscale {
namespace {

using namespace std::chrono_literals;

constexpr std::chrono::sys_seconds kT0{std::chrono::sys_days{std::chrono::year{2026} / 11 / 30} +
                                       12h};

constexpr const char* kSpotBody =
        R"({"version":"0","id":"1e5527d7-bb36-4607-3370-4164db56a40e",)"
        R"("detail-type":"EC2 Spot Instance Interruption Warning","source":"aws.ec2",)"
        R"("account":"123456789012","time":"2026-11-30T12:00:00Z","region":"us-east-1",)"
        R"("resources":["arn:aws:ec2:us-east-1b:instance/i-0b662ef9931388ba0"],)"
        R"("detail":{"instance-id":"i-0b662ef9931388ba0","instance-action":"terminate"}})";

constexpr const char* kStateBody =
        R"({"version":"0","id":"7bf73129-1428-4cd3-a780-95db273d1602",)"
        R"("detail-type":"EC2 Instance State-change Notification","source":"aws.ec2",)"
        R"("account":"123456789012","time":"2026-11-30T12:01:00Z","region":"us-east-1",)"
        R"("resources":[],"detail":{"instance-id":"i-0abc","state":"shutting-down"}})";

struct SqsFixture {
    test::FakeClock clock{WallTime{kT0}};
    test::FakeSqs sqs{clock};
    std::string queueUrl = sqs.createQueue("drone-interruptions");
    std::shared_ptr<CredentialsSource> credentials =
            makeStaticCredentials({.accessKeyId = "AKIDEXAMPLE",
                                   .secretAccessKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"});
    MemorySink log;

    std::unique_ptr<InterruptionQueue> makeQueue(std::chrono::seconds wait = 0s,
                                                 std::shared_ptr<CredentialsSource> creds = {}) {
        auto made = makeSqsInterruptionQueue(
                {.queueUrl = queueUrl, .endpoint = sqs.endpoint(), .waitTime = wait, .seed = 7},
                creds ? creds : credentials, clock, {}, &log);
        REQUIRE(made);
        return std::move(*made);
    }
};

TEST_CASE_FIXTURE(SqsFixture, "a received message is parsed, and deleted by its receipt handle") {
    sqs.send("drone-interruptions", kSpotBody);
    sqs.send("drone-interruptions", kStateBody);
    auto queue = makeQueue();

    const auto received = queue->receive(std::stop_token{});

    REQUIRE(received);
    REQUIRE(received->size() == 2);
    const QueueMessage& spot = received->at(0);
    CHECK(spot.problem.empty());
    REQUIRE(spot.notices.size() == 1);
    CHECK(spot.notices[0].kind == CloudNotice::SpotInterruption);
    CHECK(spot.notices[0].instanceId == "i-0b662ef9931388ba0");
    CHECK(spot.notices[0].state == "terminate");
    CHECK(spot.notices[0].time == WallTime{kT0});
    REQUIRE(received->at(1).notices.size() == 1);
    CHECK(received->at(1).notices[0].kind == CloudNotice::StateChange);
    CHECK(received->at(1).notices[0].state == "shutting-down");

    REQUIRE(queue->remove(spot.receiptHandle));
    REQUIRE(queue->remove(received->at(1).receiptHandle));
    CHECK(sqs.bodies("drone-interruptions").empty());
    CHECK(sqs.deleted() == 2);
    CHECK(sqs.signatureFailures() == 0);

    const auto receives = sqs.calls("ReceiveMessage");
    REQUIRE(receives.size() == 1);
    CHECK(receives[0].target == "AmazonSQS.ReceiveMessage");
    CHECK(receives[0].headers.at("content-type") == "application/x-amz-json-1.0");
    CHECK(receives[0]
                  .headers.at("authorization")
                  .starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261130/us-east-1/sqs/"
                               "aws4_request, SignedHeaders=content-type;host;x-amz-date;"
                               "x-amz-target, Signature="));
    CHECK(receives[0].body.find("\"MaxNumberOfMessages\":10") != std::string::npos);
    CHECK(receives[0].body.find("\"QueueUrl\":\"" + queueUrl + "\"") != std::string::npos);
    CHECK(sqs.calls("DeleteMessage").size() == 2);
}

TEST_CASE_FIXTURE(SqsFixture, "a message not deleted comes back after its visibility timeout") {
    sqs.send("drone-interruptions", kSpotBody);
    auto queue = makeQueue();
    auto first = queue->receive(std::stop_token{});
    REQUIRE(first);
    REQUIRE(first->size() == 1);

    auto hidden = queue->receive(std::stop_token{});
    REQUIRE(hidden);
    CHECK(hidden->empty());

    clock.advance(31s);
    auto again = queue->receive(std::stop_token{});
    REQUIRE(again);
    REQUIRE(again->size() == 1);
    CHECK(again->at(0).messageId == first->at(0).messageId);
    CHECK(again->at(0).receiptHandle != first->at(0).receiptHandle);
}

TEST_CASE_FIXTURE(SqsFixture, "unrelated and malformed bodies come back with the reason") {
    sqs.send("drone-interruptions", R"({"detail-type":"Scheduled Event","source":"aws.events",)"
                                    R"("time":"2026-11-30T12:00:00Z","detail":{}})");
    sqs.send("drone-interruptions", "this is not json");
    auto queue = makeQueue();

    const auto received = queue->receive(std::stop_token{});

    REQUIRE(received);
    REQUIRE(received->size() == 2);
    CHECK(received->at(0).notices.empty());
    CHECK(received->at(0).problem.starts_with("ignored: "));
    CHECK(received->at(1).notices.empty());
    CHECK(received->at(1).problem.starts_with("malformed: "));
}

TEST_CASE_FIXTURE(SqsFixture, "a body whose MD5OfBody does not match is reported as malformed") {
    sqs.send("drone-interruptions", kSpotBody);
    sqs.corruptNextMd5();
    auto queue = makeQueue();

    const auto received = queue->receive(std::stop_token{});

    REQUIRE(received);
    REQUIRE(received->size() == 1);
    CHECK(received->at(0).notices.empty());
    CHECK(received->at(0).problem.find("MD5OfBody") != std::string::npos);
}

TEST_CASE_FIXTURE(SqsFixture,
                  "a wrong secret is refused by the fake and is an Unauthorized error") {
    auto wrong = makeStaticCredentials({.accessKeyId = "AKIDEXAMPLE", .secretAccessKey = "nope"});
    auto queue = makeQueue(0s, std::shared_ptr<CredentialsSource>(std::move(wrong)));

    const auto received = queue->receive(std::stop_token{});

    REQUIRE_FALSE(received);
    CHECK(received.error().code == Errc::Unauthorized);
    CHECK(received.error().serviceCode == "InvalidSignatureException");
    CHECK(received.error().message.find("InvalidSignatureException") != std::string::npos);
    CHECK(received.error().message.find("nope") == std::string::npos);
    CHECK(sqs.signatureFailures() == 1); // Not retried.
}

TEST_CASE_FIXTURE(SqsFixture, "a session token is sent and signed") {
    test::FakeSqs withToken(clock, {.sessionToken = "TOKEN123"});
    queueUrl = withToken.createQueue("q");
    withToken.send("q", kSpotBody);
    auto tokenCredentials = std::shared_ptr<CredentialsSource>(
            makeStaticCredentials({.accessKeyId = "AKIDEXAMPLE",
                                   .secretAccessKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                   .sessionToken = "TOKEN123"}));
    auto made = makeSqsInterruptionQueue(
            {.queueUrl = queueUrl, .endpoint = withToken.endpoint(), .waitTime = 0s},
            tokenCredentials, clock, {}, &log);
    REQUIRE(made);

    const auto received = (*made)->receive(std::stop_token{});

    REQUIRE(received);
    CHECK(received->size() == 1);
    CHECK(withToken.calls().at(0).headers.at("authorization").find("x-amz-security-token") !=
          std::string::npos);
    CHECK(withToken.signatureFailures() == 0);
}

/// Temporary credentials that count how often they were declared stale.
class CountingCredentials final : public CredentialsSource {
public:
    Result<AwsCredentials> credentials() override {
        return AwsCredentials{.accessKeyId = "AKIDEXAMPLE",
                              .secretAccessKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                              .sessionToken = "TOKEN123"};
    }
    void invalidate() override { ++invalidated; }
    int invalidated = 0;
};

TEST_CASE_FIXTURE(SqsFixture, "an expired session token is fetched again and re-signed, once") {
    test::FakeSqs withToken(clock, {.sessionToken = "TOKEN123"});
    queueUrl = withToken.createQueue("q");
    withToken.send("q", kSpotBody);
    auto counting = std::make_shared<CountingCredentials>();
    auto made = makeSqsInterruptionQueue(
            {.queueUrl = queueUrl, .endpoint = withToken.endpoint(), .waitTime = 0s}, counting,
            clock, {}, &log);
    REQUIRE(made);
    const test::FakeSqsError expired{.status = 400,
                                     .code = "ExpiredToken",
                                     .message = "The security token included in the request is "
                                                "expired"};

    withToken.failNext(expired);
    const auto received = (*made)->receive(std::stop_token{});
    REQUIRE(received);
    CHECK(received->size() == 1);
    CHECK(counting->invalidated == 1);
    CHECK(withToken.calls("ReceiveMessage").size() == 2);
    CHECK(log.text().find("re-signing after auth error") != std::string::npos);

    // Expired twice in a row: re-signed once, never more; the error is not hidden.
    withToken.failNext(expired);
    withToken.failNext(expired);
    const auto again = (*made)->receive(std::stop_token{});
    REQUIRE_FALSE(again);
    CHECK(again.error().serviceCode == "ExpiredToken");
    CHECK(counting->invalidated == 2);
    CHECK(withToken.calls("ReceiveMessage").size() == 4);
}

TEST_CASE_FIXTURE(SqsFixture, "a skewed clock's expired signature is re-signed once, then fails") {
    test::FakeClock skewed{WallTime{kT0 + 20min}};
    auto made = makeSqsInterruptionQueue(
            {.queueUrl = queueUrl, .endpoint = sqs.endpoint(), .waitTime = 0s}, credentials, skewed,
            {}, &log);
    REQUIRE(made);
    const auto received = (*made)->receive(std::stop_token{});
    REQUIRE_FALSE(received);
    CHECK(received.error().serviceCode == "InvalidSignatureException");
    CHECK(sqs.calls("ReceiveMessage").size() == 2);
}

TEST_CASE_FIXTURE(SqsFixture, "a queue that does not exist is NotFound with SQS's code") {
    queueUrl = "https://sqs.us-east-1.amazonaws.com/123456789012/missing";
    auto queue = makeQueue();

    const auto received = queue->receive(std::stop_token{});

    REQUIRE_FALSE(received);
    CHECK(received.error().code == Errc::NotFound);
    CHECK(received.error().serviceCode == "QueueDoesNotExist");
    CHECK(received.error().message.find("QueueDoesNotExist") != std::string::npos);
    CHECK(received.error().message.find("AWS.SimpleQueueService.NonExistentQueue") !=
          std::string::npos);
    CHECK_FALSE(received.error().requestId.empty());
}

TEST_CASE_FIXTURE(SqsFixture, "throttling is retried with back-off and then succeeds") {
    sqs.send("drone-interruptions", kSpotBody);
    sqs.failNext({.status = 400, .code = "ThrottlingException", .message = "Rate exceeded"});
    sqs.failNext({.status = 500, .code = "InternalError", .message = "oops"});
    auto queue = makeQueue();
    const auto before = clock.steadyNow();

    const auto received = queue->receive(std::stop_token{});

    REQUIRE(received);
    CHECK(received->size() == 1);
    CHECK(sqs.calls("ReceiveMessage").size() == 3);
    CHECK(clock.steadyNow() > before); // The back-off slept through the Clock.
    CHECK(log.text().find("retrying") != std::string::npos);
}

TEST_CASE_FIXTURE(SqsFixture, "errors after the last attempt, and access denied, are not hidden") {
    for (int i = 0; i < 3; ++i)
        sqs.failNext({.status = 503, .code = "ServiceUnavailable", .message = "busy"});
    auto queue = makeQueue();
    const auto busy = queue->receive(std::stop_token{});
    REQUIRE_FALSE(busy);
    CHECK(busy.error().code == Errc::Unavailable);
    CHECK(busy.error().message.find("after 3 attempts") != std::string::npos);

    sqs.failNext({.status = 400, .code = "AccessDenied", .message = "not authorized"});
    const auto denied = queue->receive(std::stop_token{});
    REQUIRE_FALSE(denied);
    CHECK(denied.error().code == Errc::Forbidden);
    CHECK(denied.error().message.find("sqs:ReceiveMessage") != std::string::npos);

    const auto bad = queue->remove("not-a-handle");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == Errc::InvalidArgument);
    CHECK(bad.error().serviceCode == "ReceiptHandleIsInvalid");
}

TEST_CASE_FIXTURE(SqsFixture, "a stop requested before receive() sends nothing") {
    auto queue = makeQueue();
    std::stop_source stop;
    stop.request_stop();

    const auto received = queue->receive(stop.get_token());

    REQUIRE(received);
    CHECK(received->empty());
    CHECK(sqs.calls().empty());
}

TEST_CASE_FIXTURE(SqsFixture, "a long poll returns as soon as a message arrives") {
    auto queue = makeQueue(20s);
    auto pending =
            std::async(std::launch::async, [&] { return queue->receive(std::stop_token{}); });
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (sqs.waiting() == 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::yield();
    REQUIRE(sqs.waiting() == 1);
    const auto sent = std::chrono::steady_clock::now();

    sqs.send("drone-interruptions", kSpotBody);
    const auto received = pending.get();

    REQUIRE(received);
    CHECK(received->size() == 1);
    // Woken by the message, not by the fake's 1.5 s cap on the wait.
    CHECK(std::chrono::steady_clock::now() - sent < 1s);
    CHECK(sqs.calls("ReceiveMessage").at(0).body.find("\"WaitTimeSeconds\":20") !=
          std::string::npos);
}

TEST_CASE_FIXTURE(SqsFixture, "remove() runs while a receive() long-polls on another thread") {
    sqs.send("drone-interruptions", kSpotBody);
    auto queue = makeQueue(20s);
    const auto first = queue->receive(std::stop_token{});
    REQUIRE(first);
    REQUIRE(first->size() == 1);
    auto pending =
            std::async(std::launch::async, [&] { return queue->receive(std::stop_token{}); });
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (sqs.waiting() == 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::yield();
    REQUIRE(sqs.waiting() == 1);

    CHECK(queue->remove(first->at(0).receiptHandle));
    CHECK(sqs.waiting() == 1); // The delete did not wait for the long poll.
    CHECK(sqs.deleted() == 1);
    CHECK(pending.get());
}

/// One request our client sent, as a line for sqs_botocore.py.
std::string oracleLine(const test::FakeSqsCall& call, const std::string& url,
                       const std::string& token) {
    const std::string& authorization = call.headers.at("authorization");
    return "{\"url\":" + detail::jsonQuote(url) +
           R"(,"region":"us-east-1","key":"AKIDEXAMPLE",)"
           R"("secret":"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY","token":)" +
           detail::jsonQuote(token) +
           ",\"time\":" + detail::jsonQuote(call.headers.at("x-amz-date")) +
           ",\"target\":" + detail::jsonQuote(call.target) +
           ",\"content_type\":" + detail::jsonQuote(call.headers.at("content-type")) +
           ",\"body\":" + detail::jsonQuote(call.body) +
           ",\"authorization\":" + detail::jsonQuote(authorization) + "}\n";
}

TEST_CASE("every SQS request is valid for botocore's model and signed as botocore signs it") {
    test::requirePythonModuleOrSkip("botocore");
    test::FakeClock clock{WallTime{kT0}};
    std::string lines;
    for (const std::string& token : {std::string(), std::string("TOKEN123")}) {
        test::FakeSqs sqs(clock, {.sessionToken = token});
        const std::string url = sqs.createQueue("drone-interruptions");
        sqs.send("drone-interruptions", kSpotBody);
        auto made = makeSqsInterruptionQueue(
                {.queueUrl = url,
                 .endpoint = sqs.endpoint(),
                 .waitTime = 0s,
                 .visibilityTimeout = 60s},
                std::shared_ptr<CredentialsSource>(makeStaticCredentials(
                        {.accessKeyId = "AKIDEXAMPLE",
                         .secretAccessKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                         .sessionToken = token})),
                clock);
        REQUIRE(made);
        const auto received = (*made)->receive(std::stop_token{});
        REQUIRE(received);
        REQUIRE(received->size() == 1);
        REQUIRE((*made)->remove(received->at(0).receiptHandle));
        const auto calls = sqs.calls();
        REQUIRE(calls.size() == 2);
        for (const auto& call : calls) {
            CHECK(call.status == 200);
            lines += oracleLine(call, sqs.endpoint() + "/", token);
        }
    }
    // To run the oracle with another botocore (one whose SQS model is JSON), save the
    // requests: AUTOSCALE_SQS_ORACLE_DUMP=file, then `python3 sqs_botocore.py < file`.
    if (const char* dump =
                std::getenv("AUTOSCALE_SQS_ORACLE_DUMP")) // NOLINT(concurrency-mt-unsafe)
        std::ofstream(dump) << lines;
    std::string output;
    const int status = test::runPython(test::toolPath("sqs_botocore.py"), "", lines, output);
    INFO(output);
    CHECK(status == 0);
    CHECK(output.starts_with("ok 4\n"));
}

TEST_CASE("the botocore oracle catches a misnamed member and a wrong signature") {
    test::requirePythonModuleOrSkip("botocore");
    test::FakeClock clock{WallTime{kT0}};
    test::FakeSqsCall call;
    call.target = "AmazonSQS.ReceiveMessage";
    call.body = R"({"QueueUrl":"https://sqs.us-east-1.amazonaws.com/123456789012/q",)"
                R"("MaxMessages":10})";
    call.headers = {{"content-type", "application/x-amz-json-1.0"},
                    {"x-amz-date", "20261130T120000Z"},
                    {"authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261130/"
                                      "us-east-1/sqs/aws4_request, SignedHeaders=content-type;"
                                      "host;x-amz-date;x-amz-target, Signature=00"}};
    std::string output;
    const int status = test::runPython(test::toolPath("sqs_botocore.py"), "",
                                       oracleLine(call, "http://127.0.0.1:1/", ""), output);
    CHECK(status == 1);
    CHECK(output.find("MaxMessages") != std::string::npos);
    CHECK(output.find("Authorization differs") != std::string::npos);
}

} // namespace
} // namespace autoscale
