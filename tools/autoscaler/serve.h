// SPDX-License-Identifier: Apache-2.0
/// \file
/// `autoscaler serve`: the daemon, wired from the configuration.

#pragma once

namespace autoscale::tools {

/// Reads the configuration from the environment, wires the concrete objects
/// (SQLite store, Drone queue, EC2 provider, SSH installer, engine, REST API)
/// and runs until SIGTERM or SIGINT. Returns the exit status: 2 for bad
/// configuration (every problem printed), 1 when a component cannot start.
/// blockStopSignals() and the libcurl and libssh2 guards must be in place.
int serve();

/// `autoscaler healthcheck`, the image's HEALTHCHECK (there is no curl in the
/// image): GET /healthz from the daemon listening on DRONE_HTTP_PORT on this
/// host. Prints its answer; 0 when healthy, 1 otherwise, 2 for bad configuration.
int healthcheck();

} // namespace autoscale::tools
