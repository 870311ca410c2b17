# Cross build for riscv64 with Debian's gcc-riscv64-linux-gnu, tests under
# qemu-riscv64.  Debian 12 has no riscv64 packages (riscv64 is an official
# architecture from Debian 13 on), so libelf and zlib come from
# EJ_CROSS_PREFIX, which scripts/test-cross.sh fills by cross-compiling
# Debian's elfutils and zlib source packages; the tests use the Criterion
# shim (tests/shim).  See linux-gnu-cross.cmake.
set(CMAKE_SYSTEM_PROCESSOR riscv64)
set(EJ_CROSS_TRIPLE riscv64-linux-gnu)
include(${CMAKE_CURRENT_LIST_DIR}/linux-gnu-cross.cmake)
