// SPDX-License-Identifier: Apache-2.0
/// \file
/// The one doctest main: initialises libcurl and libssh2 before any test thread starts.

#define DOCTEST_CONFIG_IMPLEMENT
#include <curl/curl.h>
#include <doctest/doctest.h>

#include <autoscale/ssh.h>

int main(int argc, char** argv) {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    const autoscale::Ssh2Global ssh2;
    if (!ssh2.ok())
        return 1;
    doctest::Context context(argc, argv);
    const int rc = context.run();
    curl_global_cleanup();
    return rc;
}
