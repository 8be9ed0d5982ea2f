// doctest's main, in its own translation unit built without optimisation
// (it is the slowest file to compile; see docs/building.md).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
