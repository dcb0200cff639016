// SPDX-License-Identifier: Apache-2.0
/// \file
/// The small things kept in one place: trim, lower, base64, whole-file read,
/// the null log sink, random names and tokens; the error kinds (names and
/// retryability); and the doctest printers every test uses.

#include <cstdio>
#include <set>
#include <string>

#include <doctest/doctest.h>

#include <autoscale/log.h>
#include <autoscale/result.h>

#include "doctest_support.h"
#include "fake_clock.h"
#include "files.h"
#include "random_text.h"
#include "temp_dir.h"
#include "text.h"

namespace autoscale {
namespace {

TEST_CASE("trim drops ASCII whitespace at both ends only") {
    CHECK(detail::trim("") == "");
    CHECK(detail::trim(" \t\r\n\v\f") == "");
    CHECK(detail::trim("  a b\t") == "a b");
    CHECK(detail::trim("\nvalue\r\n") == "value");
    CHECK(detail::trim("x") == "x");
    CHECK(detail::trim("\xC2\xA0x") == "\xC2\xA0x"); // A UTF-8 no-break space is not ASCII.
}

TEST_CASE("lower lowers ASCII letters and leaves other bytes alone") {
    CHECK(detail::lower("Content-Type") == "content-type");
    CHECK(detail::lower("ABCXYZ abcxyz 09@[`{") == "abcxyz abcxyz 09@[`{");
    CHECK(detail::lower("\xC3\x89T\xC3\x89") == "\xC3\x89t\xC3\x89");
}

TEST_CASE("base64 follows RFC 4648's test vectors and round-trips every byte") {
    const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                           {"f", "Zg=="},
                                                           {"fo", "Zm8="},
                                                           {"foo", "Zm9v"},
                                                           {"foob", "Zm9vYg=="},
                                                           {"fooba", "Zm9vYmE="},
                                                           {"foobar", "Zm9vYmFy"}};
    for (const auto& [plain, encoded] : vectors) {
        // clang 14 cannot capture a structured binding in CAPTURE's lambda.
        const auto& input = plain;
        CAPTURE(input);
        CHECK(detail::base64Encode(plain) == encoded);
        CHECK(detail::base64Decode(encoded) == std::string(plain));
    }
    std::string all;
    for (int b = 0; b < 256; ++b)
        all += static_cast<char>(b);
    CHECK(detail::base64Encode("\xff\xfe") == "//4=");
    CHECK(detail::base64Decode(detail::base64Encode(all)) == all);
    CHECK(detail::base64Decode("Zm9vYmFy") == std::string("foobar")); // Padding optional.
    CHECK(detail::base64Decode("Zm8") == std::string("fo"));
    CHECK_FALSE(detail::base64Decode("Zm9v!").has_value());
    CHECK_FALSE(detail::base64Decode("Zm9vY").has_value()); // One char left over.
    CHECK_FALSE(detail::base64Decode("Zm 9v").has_value());
}

TEST_CASE("readFile returns the bytes, or an I/O error naming the path") {
    test::TempDir dir;
    const std::string path = dir.file("data.bin");
    const std::string bytes("a\0b\r\n\xff", 6);
    std::FILE* f = std::fopen(path.c_str(), "wb");
    REQUIRE(f != nullptr);
    REQUIRE(std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size());
    std::fclose(f);
    CHECK(detail::readFile(path).value_or(std::string{}) == bytes);

    const auto missing = detail::readFile(dir.file("absent"));
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == Errc::Io);
    CHECK(missing.error().message.find(dir.file("absent")) != std::string::npos);
    CHECK(missing.error().message.find("No such file") != std::string::npos);
}

TEST_CASE("random names and tokens have their shape and do not repeat") {
    std::set<std::string> names;
    std::set<std::string> tokens;
    for (int i = 0; i < 200; ++i) {
        const auto name = detail::randomServerName("agent-");
        REQUIRE(name.size() == 14);
        CHECK(name.starts_with("agent-"));
        CHECK(name.find_first_not_of(
                      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 6) ==
              std::string::npos);
        names.insert(name);
        const auto token = detail::randomClientToken();
        REQUIRE(token.size() == 32);
        CHECK(token.find_first_not_of("0123456789abcdef") == std::string::npos);
        tokens.insert(token);
    }
    CHECK(names.size() == 200);
    CHECK(tokens.size() == 200);
    CHECK(detail::randomChars(0, "ab").empty());
    CHECK(detail::randomChars(5, "z") == "zzzzz");
}

TEST_CASE("the null sink swallows records") {
    NullSink sink;
    test::FakeClock clock;
    const Logger log(sink, clock, "test", LogLevel::Trace);
    log.error("nobody reads this", {{"k", "v"}}); // Nothing to observe but no crash.
    LogSink& asBase = sink;
    asBase.write(LogRecord{.message = "x"});
}

TEST_CASE("a taken name, a lost compare-and-swap and a deposed leader are told apart") {
    CHECK(nameOf(Errc::AlreadyExists) == "already_exists");
    CHECK(nameOf(Errc::Conflict) == "conflict");
    CHECK(nameOf(Errc::NotLeader) == "not_leader");
    for (const auto code : {Errc::AlreadyExists, Errc::Conflict, Errc::NotLeader}) {
        CAPTURE(code);
        CHECK_FALSE(makeError(code, "x").retryable());
    }
    for (const auto code : {Errc::Transport, Errc::Timeout, Errc::Throttled, Errc::Unavailable}) {
        CAPTURE(code);
        CHECK(makeError(code, "x").retryable());
    }
}

TEST_CASE("failed checks print an Errc, an Error, a Server and a Plan field by field") {
    using doctest::toString;
    // What a failed CHECK(a == b) prints: the same call doctest makes.
    CHECK(std::string(doctest::detail::stringifyBinaryExpr(Errc::NotLeader, " == ", Errc::Conflict)
                              .c_str()) == "not_leader == conflict");
    CHECK(std::string(doctest::detail::stringifyBinaryExpr(ServerState::Running,
                                                           " == ", ServerState::Draining)
                              .c_str()) == "running == draining");

    Error e = makeError(Errc::Throttled, "slow \"down\"");
    e.requestId = "req-1";
    e.httpStatus = 503;
    e.serviceCode = "RequestLimitExceeded";
    CHECK(std::string(toString(e).c_str()) ==
          "Error{code=throttled message=\"slow \\\"down\\\"\" requestId=\"req-1\" httpStatus=503 "
          "serviceCode=\"RequestLimitExceeded\"}");

    const Server s{.name = "agent-1",
                   .state = ServerState::Running,
                   .capacity = 2,
                   .hostPrivateKey = "SECRET-KEY-MATERIAL",
                   .created = WallTime{std::chrono::seconds{2}},
                   .version = 7};
    const std::string server = toString(s).c_str();
    CHECK(server.starts_with("Server{name=\"agent-1\" "));
    CHECK(server.find(" state=running ") != std::string::npos);
    CHECK(server.find(" capacity=2 ") != std::string::npos);
    CHECK(server.find(" created=2000 ") != std::string::npos);
    CHECK(server.find(" version=7}") != std::string::npos);
    CHECK(server.find("SECRET") == std::string::npos); // The private key is never printed.
    CHECK(server.find("hostPrivateKey=<19 bytes>") != std::string::npos);

    Plan p;
    p.pool = "default";
    p.pending = 3;
    p.create = 1;
    p.drain = {"agent-2"};
    p.reasons = {"3 waiting"};
    CHECK(std::string(toString(p).c_str()) ==
          "Plan{pool=\"default\" policy=default pending=3 running=0 servers=0 live=0 capacity=0 "
          "wanted=0 create=1 drain=[\"agent-2\"] reasons=[\"3 waiting\"]}");
}

} // namespace
} // namespace autoscale
