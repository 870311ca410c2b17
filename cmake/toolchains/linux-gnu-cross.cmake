# Shared part of the Debian cross toolchain files in this directory
# (aarch64-linux-gnu.cmake, riscv64-linux-gnu.cmake), which set
# EJ_CROSS_TRIPLE and CMAKE_SYSTEM_PROCESSOR and include this file.
#
#   cmake -S . -B build-x-aarch64 \
#         -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake
#
# Compilers: Debian's gcc-<triple> (CMake finds the matching binutils,
# <triple>-ar and friends, from the compiler's name).
# Libraries for the target come from two places:
#   - Debian multiarch (dpkg --add-architecture arm64; libelf-dev:arm64 ...):
#     /usr/lib/<triple> and /usr/include, found through
#     CMAKE_LIBRARY_ARCHITECTURE and the target's pkg-config directory;
#   - a prefix of our own, EJ_CROSS_PREFIX (-DEJ_CROSS_PREFIX=DIR), for what
#     Debian does not package for the target (riscv64 on Debian 12:
#     scripts/test-cross.sh builds zlib and libelf there from Debian's
#     source packages).  Searched first; its lib/ is put in every
#     executable's and library's run path.
# Programs run under qemu-user: CMAKE_CROSSCOMPILING_EMULATOR is
# "qemu-<arch> -L <prefix>" (see EJ_QEMU_LD_PREFIX below), which ctest puts
# in front of every test, and which tests/CMakeLists.txt passes to the tests
# that spawn programs themselves.

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_C_COMPILER ${EJ_CROSS_TRIPLE}-gcc)
set(CMAKE_LIBRARY_ARCHITECTURE ${EJ_CROSS_TRIPLE})

# try_compile projects load this file too: hand them the prefix.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES EJ_CROSS_PREFIX EJ_CROSS_TRIPLE)

# Where find_library/find_path/find_package look: our prefix, the cross
# toolchain's sysroot, then / (multiarch: lib/<triple> under /usr).  Host
# programs (clang, qemu) are found on the host.
set(CMAKE_FIND_ROOT_PATH ${EJ_CROSS_PREFIX} /usr/${EJ_CROSS_TRIPLE} /)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config answers for the target only: its multiarch directory and our
# prefix, never the host's /usr/lib/x86_64-linux-gnu/pkgconfig.
set(_ej_pc_dirs /usr/lib/${EJ_CROSS_TRIPLE}/pkgconfig /usr/share/pkgconfig)
if(EJ_CROSS_PREFIX)
  list(PREPEND _ej_pc_dirs ${EJ_CROSS_PREFIX}/lib/pkgconfig)
  set(CMAKE_EXE_LINKER_FLAGS_INIT "-Wl,-rpath,${EJ_CROSS_PREFIX}/lib")
  set(CMAKE_SHARED_LINKER_FLAGS_INIT "-Wl,-rpath,${EJ_CROSS_PREFIX}/lib")
endif()
list(JOIN _ej_pc_dirs ":" _ej_pc_path)
set(ENV{PKG_CONFIG_LIBDIR} "${_ej_pc_path}")
set(ENV{PKG_CONFIG_PATH} "")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "")

# qemu-user runs the target's programs (no binfmt_misc needed).  Its -L
# prefix is where the target's dynamic loader and C library are taken
# from.  The dynamic loader and libc.so.6 must come from the same glibc
# build: when Debian multiarch has installed the target's libc6
# (/lib/<triple>/libc.so.6, pulled in by libelf1:arm64), the loader finds
# that libc.so.6 first whatever the prefix, so the prefix must be / (the
# loader of the same package); the cross toolchain's /usr/<triple> (a
# slightly different glibc build) then hangs the emulated program at its
# first fork().  Without multiarch, the cross toolchain's sysroot.
find_program(EJ_QEMU NAMES qemu-${CMAKE_SYSTEM_PROCESSOR} qemu-${CMAKE_SYSTEM_PROCESSOR}-static
             NO_CMAKE_FIND_ROOT_PATH)
if(NOT EJ_QEMU)
  set(EJ_QEMU qemu-${CMAKE_SYSTEM_PROCESSOR})
endif()
if(NOT EJ_QEMU_LD_PREFIX)
  if(EXISTS /lib/${EJ_CROSS_TRIPLE}/libc.so.6)
    set(EJ_QEMU_LD_PREFIX /)
  else()
    set(EJ_QEMU_LD_PREFIX /usr/${EJ_CROSS_TRIPLE})
  endif()
endif()
set(CMAKE_CROSSCOMPILING_EMULATOR ${EJ_QEMU} -L ${EJ_QEMU_LD_PREFIX})
