# Cross build for aarch64 (arm64) with Debian's gcc-aarch64-linux-gnu,
# libraries from Debian multiarch (libelf-dev:arm64, zlib1g-dev:arm64),
# tests under qemu-aarch64.  See linux-gnu-cross.cmake and
# scripts/test-cross.sh, which installs all of it.
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(EJ_CROSS_TRIPLE aarch64-linux-gnu)
include(${CMAKE_CURRENT_LIST_DIR}/linux-gnu-cross.cmake)
