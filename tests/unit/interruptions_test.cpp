// SPDX-License-Identifier: Apache-2.0
/// \file
/// Interruption notices without a network: the EventBridge event parser (the four event
/// kinds, ignored and malformed bodies), queue URLs, regions and endpoints, the SQS wire
/// helpers and error classification, the two variables, and the in-memory fake queue.

#include <string>

#include <doctest/doctest.h>

#include <autoscale/config.h>
#include <autoscale/interruptions.h>

#include "aws/sqs_client.h"
#include "core/time_format.h"
#include "fake_interruption_queue.h"

namespace autoscale {
namespace {

using namespace std::chrono_literals;

WallTime at(const char* iso) {
    return detail::parseIso8601(iso).value();
}

std::string ec2Event(const std::string& detailType, const std::string& detail) {
    return R"({"version":"0","id":"e-1","detail-type":")" + detailType +
           R"(","source":"aws.ec2","account":"123456789012","time":"2026-11-30T12:00:00Z",)"
           R"("region":"us-east-1","resources":[],"detail":)" +
           detail + "}";
}

TEST_CASE("a spot interruption warning names the instance and its action") {
    const auto event = parseCloudEvent(
            ec2Event("EC2 Spot Instance Interruption Warning",
                     R"({"instance-id":"i-0b662ef9931388ba0","instance-action":"terminate"})"));
    REQUIRE(event);
    REQUIRE(event->notices.size() == 1);
    const CloudNotice& n = event->notices[0];
    CHECK(n.kind == CloudNotice::SpotInterruption);
    CHECK(n.instanceId == "i-0b662ef9931388ba0");
    CHECK(n.state == "terminate");
    CHECK(n.time == at("2026-11-30T12:00:00Z"));
    CHECK(meansInstanceLost(n));
    CHECK(nameOf(n.kind) == "spot_interruption");
}

TEST_CASE("a rebalance recommendation is advice, not a loss") {
    const auto event = parseCloudEvent(
            ec2Event("EC2 Instance Rebalance Recommendation", R"({"instance-id":"i-0abc"})"));
    REQUIRE(event);
    REQUIRE(event->notices.size() == 1);
    CHECK(event->notices[0].kind == CloudNotice::Rebalance);
    CHECK(event->notices[0].state.empty());
    CHECK_FALSE(meansInstanceLost(event->notices[0]));
}

TEST_CASE("state changes to shutting-down, terminated, stopping or stopped mean a loss") {
    for (const std::string_view state :
         {"pending", "running", "stopping", "stopped", "shutting-down", "terminated"}) {
        CAPTURE(state);
        const auto event = parseCloudEvent(
                ec2Event("EC2 Instance State-change Notification",
                         R"({"instance-id":"i-0abc","state":")" + std::string(state) + R"("})"));
        REQUIRE(event);
        REQUIRE(event->notices.size() == 1);
        CHECK(event->notices[0].kind == CloudNotice::StateChange);
        CHECK(event->notices[0].state == state);
        CHECK(meansInstanceLost(event->notices[0]) == (state != "pending" && state != "running"));
    }
}

TEST_CASE("a Health scheduled change gives one notice per affected instance") {
    const std::string body =
            R"({"version":"0","id":"h-1","detail-type":"AWS Health Event","source":"aws.health",)"
            R"("account":"123456789012","time":"2026-11-30T08:00:00Z","region":"us-east-1",)"
            R"("resources":["i-0aaa","i-0bbb"],"detail":{"eventArn":"arn:aws:health:x",)"
            R"("service":"EC2","eventTypeCode":"AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED",)"
            R"("eventTypeCategory":"scheduledChange","startTime":"Sat, 05 Dec 2026 15:10:09 GMT",)"
            R"("eventDescription":[{"language":"en_US","latestDescription":"retiring"}],)"
            R"("affectedEntities":[{"entityValue":"i-0aaa"},{"entityValue":"vol-0ccc"},)"
            R"({"entityValue":"i-0bbb"}]}})";
    const auto event = parseCloudEvent(body);
    REQUIRE(event);
    REQUIRE(event->notices.size() == 2);
    CHECK(event->notices[0].kind == CloudNotice::ScheduledChange);
    CHECK(event->notices[0].instanceId == "i-0aaa");
    CHECK(event->notices[1].instanceId == "i-0bbb");
    CHECK(event->notices[1].state == "AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED");
    CHECK(event->notices[1].time == at("2026-11-30T08:00:00Z"));
    CHECK(meansInstanceLost(event->notices[0]));
}

TEST_CASE("events we do not act on are ignored with a reason") {
    const char* bodies[] = {
            R"({"detail-type":"Scheduled Event","source":"aws.events","time":"2026-11-30T12:00:00Z","detail":{}})",
            R"({"detail-type":"AWS Health Event","source":"aws.health","time":"2026-11-30T12:00:00Z",)"
            R"("detail":{"service":"RDS","eventTypeCategory":"scheduledChange","affectedEntities":[]}})",
            R"({"detail-type":"AWS Health Event","source":"aws.health","time":"2026-11-30T12:00:00Z",)"
            R"("detail":{"service":"EC2","eventTypeCategory":"issue","affectedEntities":[]}})",
            R"({"Type":"Notification","Message":"an SNS envelope"})",
            R"({"Event":"s3:TestEvent"})",
    };
    for (const char* body : bodies) {
        CAPTURE(body);
        const auto event = parseCloudEvent(body);
        REQUIRE(event);
        CHECK(event->notices.empty());
        CHECK_FALSE(event->ignored.empty());
    }
}

TEST_CASE("malformed bodies are Parse errors that say what is wrong") {
    const std::pair<std::string, std::string> cases[] = {
            {"not json", "not valid JSON"},
            {"[1,2]", "not a JSON object"},
            {ec2Event("EC2 Spot Instance Interruption Warning", R"({"instance-action":"stop"})"),
             "instance-id"},
            {ec2Event("EC2 Spot Instance Interruption Warning", R"({"instance-id":"i-1"})"),
             "instance-action"},
            {ec2Event("EC2 Instance State-change Notification", R"({"instance-id":7})"),
             "instance-id"},
            {ec2Event("EC2 Instance Rebalance Recommendation", R"("nope")"), "detail"},
            {R"({"detail-type":"EC2 Instance Rebalance Recommendation","source":"aws.ec2",)"
             R"("time":"yesterday","detail":{"instance-id":"i-1"}})",
             "time"},
            {R"({"detail-type":"AWS Health Event","source":"aws.health","time":"2026-11-30T12:00:00Z",)"
             R"("detail":{"service":"EC2","eventTypeCategory":"scheduledChange"}})",
             "affectedEntities"},
    };
    for (const auto& item : cases) {
        const std::string& body = item.first;
        const std::string& mentions = item.second;
        CAPTURE(body);
        const auto event = parseCloudEvent(body);
        REQUIRE_FALSE(event);
        CHECK(event.error().code == Errc::Parse);
        CHECK(event.error().message.find(mentions) != std::string::npos);
    }
}

TEST_CASE("queue URLs are validated") {
    CHECK(validateQueueUrl(""));
    CHECK(validateQueueUrl("https://sqs.us-east-1.amazonaws.com/123456789012/drone"));
    CHECK(validateQueueUrl("https://sqs.eu-west-1.amazonaws.com/123456789012/drone.fifo"));
    CHECK(validateQueueUrl("http://127.0.0.1:4566/000000000000/drone"));
    for (const char* bad : {"http://sqs.us-east-1.amazonaws.com/123456789012/drone",
                            "sqs.us-east-1.amazonaws.com/123456789012/drone",
                            "https://sqs.us-east-1.amazonaws.com/drone",
                            "https://sqs.us-east-1.amazonaws.com/12345/drone",
                            "https://sqs.us-east-1.amazonaws.com/123456789012/",
                            "https://sqs.us-east-1.amazonaws.com/123456789012/a/b",
                            "https://sqs.us-east-1.amazonaws.com/123456789012/drone?x=1",
                            "https:///123456789012/drone"}) {
        CAPTURE(bad);
        const auto valid = validateQueueUrl(bad);
        REQUIRE_FALSE(valid);
        CHECK(valid.error().code == Errc::InvalidArgument);
    }
}

TEST_CASE("the region comes from the queue's host, and the endpoint from the environment") {
    CHECK(sqsRegionOf("https://sqs.eu-west-1.amazonaws.com/123456789012/q") == "eu-west-1");
    CHECK(sqsRegionOf("https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q") == "cn-north-1");
    CHECK(sqsRegionOf("https://us-west-2.queue.amazonaws.com/123456789012/q") == "us-west-2");
    CHECK(sqsRegionOf("https://queue.amazonaws.com/123456789012/q") == "us-east-1");
    CHECK(sqsRegionOf("http://127.0.0.1:4566/000000000000/q").empty());

    SqsQueueOptions options{.queueUrl = "https://sqs.eu-west-1.amazonaws.com/123456789012/q"};
    CHECK(resolveSqsEndpoint(options, {}) == "https://sqs.eu-west-1.amazonaws.com");
    CHECK(resolveSqsEndpoint(options, {.endpoint = "http://127.0.0.1:1"}) == "http://127.0.0.1:1");
    CHECK(resolveSqsEndpoint(options, {.endpointSqs = "http://127.0.0.1:2",
                                       .endpoint = "http://127.0.0.1:1"}) == "http://127.0.0.1:2");
    options.endpoint = "http://127.0.0.1:3";
    CHECK(resolveSqsEndpoint(options, {.endpointSqs = "http://127.0.0.1:2"}) ==
          "http://127.0.0.1:3");
    CHECK(resolveSqsEndpoint({.queueUrl = "http://127.0.0.1:4566/000000000000/q"}, {}) ==
          "http://127.0.0.1:4566");
    CHECK(resolveSqsEndpoint({.queueUrl = "https://sqs.cn-north-1.amazonaws.com.cn/1/q"}, {}) ==
          "https://sqs.cn-north-1.amazonaws.com.cn");
}

TEST_CASE("request bodies use the model's member names") {
    CHECK(aws::receiveMessageBody({.queueUrl = "https://q/1/a",
                                   .maxNumberOfMessages = 10,
                                   .waitTimeSeconds = 20}) ==
          R"({"QueueUrl":"https://q/1/a","MaxNumberOfMessages":10,"WaitTimeSeconds":20})");
    CHECK(aws::receiveMessageBody({.queueUrl = "u", .visibilityTimeout = 60})
                  .ends_with(R"(,"VisibilityTimeout":60})"));
    CHECK(aws::deleteMessageBody("u", "rh\"1") == R"({"QueueUrl":"u","ReceiptHandle":"rh\"1"})");
}

TEST_CASE("ReceiveMessage replies parse, with or without messages") {
    const auto none = aws::parseReceiveMessage("{}");
    REQUIRE(none);
    CHECK(none->empty());
    const auto some = aws::parseReceiveMessage(
            R"({"Messages":[{"MessageId":"m1","ReceiptHandle":"rh1","MD5OfBody":"x","Body":"b"}]})");
    REQUIRE(some);
    REQUIRE(some->size() == 1);
    CHECK(some->at(0).receiptHandle == "rh1");
    CHECK(some->at(0).body == "b");
    CHECK_FALSE(aws::parseReceiveMessage(R"({"Messages":{}})"));
    CHECK_FALSE(aws::parseReceiveMessage(R"({"Messages":[{"MessageId":"m1"}]})"));
    CHECK_FALSE(aws::parseReceiveMessage("<xml/>"));
    CHECK(aws::md5Hex("") == "d41d8cd98f00b204e9800998ecf8427e");
}

TEST_CASE("SQS errors are classified once, with the code in the message") {
    CHECK(aws::sqsErrorCode(R"({"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"x"})") ==
          "QueueDoesNotExist");
    CHECK(aws::sqsErrorCode(R"({"__type":"ThrottlingException:http://internal"})") ==
          "ThrottlingException");
    CHECK(aws::sqsErrorCode("<html>").empty());
    CHECK(aws::sqsErrc("ThrottlingException", 400) == Errc::Throttled);
    CHECK(aws::sqsErrc("RequestThrottled", 403) == Errc::Throttled);
    CHECK(aws::sqsErrc("QueueDoesNotExist", 400) == Errc::NotFound);
    CHECK(aws::sqsErrc("AccessDenied", 403) == Errc::Forbidden);
    CHECK(aws::sqsErrc("InvalidSignatureException", 400) == Errc::Unauthorized);
    CHECK(aws::sqsErrc("ReceiptHandleIsInvalid", 400) == Errc::InvalidArgument);
    CHECK(aws::sqsErrc("", 502) == Errc::Unavailable);
    CHECK(aws::sqsErrc("", 429) == Errc::Throttled);

    const Error e = aws::classifySqsReply(
            "ReceiveMessage",
            HttpResponse{
                    .status = 400,
                    .headers = {{"x-amzn-requestid", "req-9"}},
                    .body = R"({"__type":"com.amazonaws.sqs#KmsThrottled","message":"slow"})"});
    CHECK(e.code == Errc::Throttled);
    CHECK(e.retryable());
    CHECK(e.requestId == "req-9");
    CHECK(e.serviceCode == "KmsThrottled");
    CHECK(e.message == "sqs ReceiveMessage: KmsThrottled: slow");
}

TEST_CASE("the two variables are read into Config::interruptions") {
    Environment env{{"DRONE_SERVER_PROTO", "https"},
                    {"DRONE_SERVER_HOST", "drone.example.com"},
                    {"DRONE_SERVER_TOKEN", "t"},
                    {"DRONE_AGENT_TOKEN", "a"},
                    {"DRONE_AMAZON_IMAGE", "ami-1"}};
    const auto defaults = parseConfig(env);
    REQUIRE(defaults);
    CHECK(defaults->interruptions == InterruptionSettings{});

    env["DRONE_AMAZON_INTERRUPTION_QUEUE"] =
            "https://sqs.us-east-1.amazonaws.com/123456789012/drone";
    env["DRONE_RESTART_LOST_BUILDS"] = "true";
    env["AWS_ENDPOINT_URL_SQS"] = "http://127.0.0.1:9324";
    const auto set = parseConfig(env);
    REQUIRE(set);
    CHECK(set->interruptions.queueUrl == "https://sqs.us-east-1.amazonaws.com/123456789012/drone");
    CHECK(set->interruptions.restartLostBuilds);
    CHECK(set->aws.endpointSqs == "http://127.0.0.1:9324");

    env["DRONE_AMAZON_INTERRUPTION_QUEUE"] = "drone-interruptions";
    env["DRONE_RESTART_LOST_BUILDS"] = "perhaps";
    const auto bad = parseConfig(env);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.find("DRONE_AMAZON_INTERRUPTION_QUEUE") != std::string::npos);
    CHECK(bad.error().message.find("DRONE_RESTART_LOST_BUILDS") != std::string::npos);
    CHECK(findVariable("DRONE_AMAZON_INTERRUPTION_QUEUE")->scope == VariableScope::Global);
}

TEST_CASE("the fake queue hands out what was pushed until it is removed") {
    test::FakeInterruptionQueue queue;
    const std::string handle =
            queue.push({CloudNotice{.kind = CloudNotice::SpotInterruption, .instanceId = "i-1"}});
    queue.pushBody("garbage");
    auto first = queue.receive(std::stop_token{});
    REQUIRE(first);
    REQUIRE(first->size() == 2);
    CHECK(first->at(1).problem.starts_with("malformed: "));
    REQUIRE(queue.remove(handle));
    CHECK(queue.pending() == 1);
    queue.failNextReceive(makeError(Errc::Throttled, "slow"));
    CHECK_FALSE(queue.receive(std::stop_token{}));
    CHECK(queue.removed() == std::vector<std::string>{handle});
}

} // namespace
} // namespace autoscale
