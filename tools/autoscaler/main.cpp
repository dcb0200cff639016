// SPDX-License-Identifier: Apache-2.0
/// \file
/// The daemon's main: `autoscaler serve` (also what runs with no argument, as
/// drone/autoscaler's image does). Blocks the stop signals, sets up the
/// process-wide guards, parses the flags and serves (serve.cpp).

#include <exception>
#include <iostream>

#include <CLI/CLI.hpp>

#include <autoscale/ssh.h>

#include "cli_common.h"
#include "serve.h"
#include "signals.h"

int main(int argc, char** argv) {
    namespace tools = autoscale::tools;
    // Before any thread starts: the stop signals go to the sigwait thread only.
    tools::blockStopSignals();
    try {
        const tools::CurlGlobal curl;
        const autoscale::Ssh2Global ssh2;
        if (!curl.ok() || !ssh2.ok()) {
            std::cerr << "autoscaler: cannot initialise libcurl or libssh2\n";
            return tools::kExitFailure;
        }
        CLI::App app{"autoscaler: keeps enough EC2 build machines for a Drone CI queue. "
                     "Configuration comes from DRONE_* and AWS_* environment variables (see "
                     "README); bad configuration exits 2 naming every bad variable."};
        app.require_subcommand(0, 1);
        app.add_subcommand("serve", "run the daemon: planner, engine and REST API on "
                                    "DRONE_HTTP_PORT (the default when no command is given)");
        auto* health = app.add_subcommand(
                "healthcheck", "GET /healthz from the daemon listening on DRONE_HTTP_PORT on "
                               "this host; exit 0 when it is healthy, 1 otherwise");
        app.set_version_flag("--version", tools::versionLine("autoscaler"));
        try {
            app.parse(argc, argv);
        } catch (const CLI::ParseError& e) {
            return app.exit(e) == 0 ? tools::kExitOk : tools::kExitUsage;
        }
        if (health->parsed())
            return tools::healthcheck();
        return tools::serve();
    } catch (const std::exception& e) {
        std::cerr << "autoscaler: " << e.what() << "\n";
        return tools::kExitFailure;
    }
}
