# SPDX-License-Identifier: MIT
# One line per unit test executable (tests/unit/<name>.c).
