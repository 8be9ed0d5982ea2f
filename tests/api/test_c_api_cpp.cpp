// The C API test compiled as C++: the public header must be valid C++ too.
#include "test_c_api.c"
