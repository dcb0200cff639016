// SPDX-License-Identifier: Apache-2.0
/// \file
/// The public_api test passes by compiling: each public header was included
/// alone in its own translation unit, without src/ on the include path.

int main() {
    return 0;
}
