// Loaded by the C++ host (host.cpp): exceptions thrown in loaded code,
// caught by the host.
#include <stdexcept>
#include <string>

extern "C" int ej_throw_runtime(int x)
{
    if (x > 2)
        throw std::runtime_error("thrown in loaded code: " + std::to_string(x));
    return x;
}

extern "C" int ej_throw_int(int x)
{
    throw x * 2;
}
