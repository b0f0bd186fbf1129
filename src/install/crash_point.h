// Named points between the installer's steps, where the kill tests stop the
// process. PATCHBAY_TEST_KILL_AT=N sends SIGKILL to the process at the Nth
// point it reaches; PATCHBAY_TEST_POINTS=FILE appends each point's name to
// FILE (so a test learns how many there are). Without them: nothing.
#pragma once

#include <string_view>

namespace patchbay::install {

void crashPoint(std::string_view name);

}  // namespace patchbay::install
