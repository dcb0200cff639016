// SPDX-License-Identifier: Apache-2.0
// /ui in a real browser: Debian's headless Chromium loads the page from an
// ApiServer on loopback (basic auth in the URL), its DOM holds the servers and
// their states, and a screenshot is written to the test's output directory.
// Exits 77 (SKIP) when /usr/bin/chromium is missing (`apt-get install chromium`).

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <unistd.h>

#include <doctest/doctest.h>

#include "process.h"
#include "temp_dir.h"
#include "ui_harness.h"

namespace autoscale {
namespace {

using namespace std::chrono_literals;

constexpr const char* kChromium = "/usr/bin/chromium";

void requireChromiumOrSkip() {
    if (::access(kChromium, X_OK) == 0)
        return;
    std::cerr << "SKIP: " << kChromium << " is missing (apt-get install chromium)\n";
    std::_Exit(77);
}

/// Where the screenshot goes: meson's build directory for tests (the working
/// directory meson runs tests in), under ui-browser/.
std::filesystem::path outputDirectory() {
    std::filesystem::path dir = std::filesystem::current_path() / "ui-browser";
    std::filesystem::create_directories(dir);
    return dir;
}

/// Runs headless Chromium with `args` after the common flags; its own HOME.
test::ProcessResult chromium(const test::TempDir& home, std::vector<std::string> args) {
    std::vector<std::string> argv = {kChromium,
                                     "--headless",
                                     "--no-sandbox",
                                     "--disable-gpu",
                                     "--disable-dev-shm-usage",
                                     "--no-first-run",
                                     "--disable-extensions",
                                     "--disable-background-networking",
                                     "--user-data-dir=" + home.file("profile")};
    argv.insert(argv.end(), args.begin(), args.end());
    const std::map<std::string, std::string> env = {
            {"HOME", home.path().string()}, {"PATH", "/usr/bin:/bin"}, {"LANG", "C.UTF-8"}};
    return test::runProcess(argv, env, 90s);
}

TEST_CASE("headless Chromium renders /ui: the DOM holds the servers and their states") {
    requireChromiumOrSkip();
    test::UiHarness h;
    h.replayDay();
    // End the day with live work: servers running and being created.
    h.queue.set(test::UiHarness::pendingStages(7));
    for (int i = 0; i < 4; ++i) {
        (void)h.cycle();
        h.clock.advance(10s);
    }
    h.addHostileRow();
    const auto servers = h.store->list().value();
    REQUIRE(servers.size() >= 4);

    const std::string url = "http://" + std::string(test::kUiUser) + ":" +
                            std::string(test::kUiPassword) +
                            "@127.0.0.1:" + std::to_string(h.api->port()) + "/ui";
    const test::TempDir home;
    const auto dom = chromium(home, {"--dump-dom", url});
    INFO("chromium stderr: " << dom.err);
    REQUIRE(dom.exitCode == 0);
    CHECK(dom.out.find("Drone autoscaler") != std::string::npos);
    for (const auto& s : servers) {
        if (s.state == ServerState::Terminated)
            continue;
        // The DOM serialises the row as the browser parsed it: the name cell,
        // then the state badge.
        const std::string row =
                "<td class=\"name\">" + htmlEscape(s.name) + "</td><td><span class=\"badge";
        CAPTURE(s.name);
        const auto at = dom.out.find(row);
        REQUIRE(at != std::string::npos);
        const auto end = dom.out.find("</span>", at);
        REQUIRE(end != std::string::npos);
        CHECK(dom.out.substr(at, end - at).ends_with(">" + std::string(uiStateName(s.state))));
    }
    // The hostile row is text, not markup, in the browser too.
    CHECK(dom.out.find("agent-&lt;b&gt;bold&lt;/b&gt;") != std::string::npos);
    CHECK(dom.out.find("<script") == std::string::npos);
    CHECK(dom.out.find("<svg") != std::string::npos);
    CHECK(dom.out.find(test::kUiPassword) == std::string::npos);

    // Without credentials the browser gets the 401, not the page.
    const auto denied = chromium(home, {"--dump-dom", h.url("/ui")});
    CHECK(denied.out.find("agent-") == std::string::npos);

    const std::filesystem::path shot = outputDirectory() / "ui.png";
    std::filesystem::remove(shot);
    const auto png = chromium(home, {"--screenshot=" + shot.string(), "--window-size=1280,2000",
                                     "--hide-scrollbars", url});
    INFO("chromium stderr: " << png.err);
    CHECK(png.exitCode == 0);
    REQUIRE(std::filesystem::exists(shot));
    CHECK(std::filesystem::file_size(shot) > 20000);
    std::cout << "screenshot: " << shot.string() << std::endl;
}

} // namespace
} // namespace autoscale
